"""What Evotor posts to the webhooks, parsed and checked at the edge (docs/contracts/evotor-api.md §7).

Each parser takes the decoded JSON object and returns a frozen dataclass, or raises a
`WebhookError` with Evotor's code: 2001 not a JSON object, 2002 a required field is missing,
2003 a field has a wrong value. Old and new field names are both accepted (`userId` /
`userUuid`, `username` / `login`). Secrets (password, token) are never echoed in an error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from connections.evotor_client import parse_timestamp
from webhooks.errors import SYNTAX, WebhookError, incorrect, missing

# The spec's pattern is `^[0-9]{2}-[0-9]{15}$`; we accept any short id of that alphabet so a
# format change at Evotor does not lock merchants out. 32 is the column width.
USER_ID_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,31}$")
_MISSING = object()


def load_json_object(raw: bytes) -> dict:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise WebhookError(SYNTAX, reason="syntax") from None
    if not isinstance(data, dict):
        raise WebhookError(SYNTAX, reason="syntax")
    return data


def _pick(data: dict, names: tuple[str, ...]):
    for name in names:
        value = data.get(name)
        if value is not None:
            return name, value
    return names[0], _MISSING


def text(
    data: dict,
    names: tuple[str, ...],
    *,
    required: bool = True,
    max_length: int = 255,
    strip: bool = True,
    secret: bool = False,
) -> str | None:
    """A string field under any of `names`; "" counts as missing."""
    name, value = _pick(data, names)
    if value is _MISSING:
        if required:
            raise missing(name)
        return None
    # Numbers are refused like any other non-string: the published schema says "string", and
    # an id turned from 123 into "123" would be a different id than Evotor meant.
    if not isinstance(value, str):
        raise incorrect(name, None if secret else json.dumps(value)[:100])
    if strip:
        value = value.strip()
    if not value:
        if required:
            raise missing(name)
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise incorrect(name) from None
    if len(value) > max_length or "\x00" in value:
        raise incorrect(name, None if secret else value[:100])
    return value


def evotor_user_id(data: dict) -> str:
    value = text(data, ("userId", "userUuid"), max_length=32)
    if not USER_ID_RE.match(value):
        raise incorrect("userId", value)
    return value


EPOCH_MS_RE = re.compile(r"[0-9]+")


def event_time(value) -> datetime | None:
    """Events carry ms since the epoch (as a number or a string) or an ISO time (§7.4)."""
    # ASCII digits only: `str.isdigit` also takes "²" and other digits `int` refuses.
    if isinstance(value, str) and EPOCH_MS_RE.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return parse_timestamp(value) if isinstance(value, str) else None


@dataclass(frozen=True)
class UserCreate:
    evotor_user_id: str
    email: str | None
    password: str | None
    full_name: str


def parse_user_create(data: dict) -> UserCreate:
    """§7.1: `userId` plus the custom fields configured in the Evotor portal.

    We configure `email` (also read from `username` / `login` when it holds an e-mail),
    and optionally `password` and `name`.
    """
    user_id = evotor_user_id(data)
    email = text(data, ("email", "username", "login"), required=False, max_length=254)
    if email is not None:
        try:
            validate_email(email)
        except ValidationError:
            raise incorrect("email", email) from None
        email = email.lower()
    password = text(data, ("password",), required=False, max_length=4096, strip=False, secret=True)
    full_name = text(data, ("name", "fullName", "full_name"), required=False, max_length=150)
    return UserCreate(user_id, email, password, full_name or "")


@dataclass(frozen=True)
class UserVerify:
    evotor_user_id: str
    login: str
    password: str


def parse_user_verify(data: dict) -> UserVerify:
    """§7.2: `userId`, `username` (or `login`, §10.5) and `password`."""
    user_id = evotor_user_id(data)
    login = text(data, ("username", "login", "email"), max_length=254)
    password = text(data, ("password",), max_length=4096, strip=False, secret=True)
    return UserVerify(user_id, login, password)


@dataclass(frozen=True)
class UserToken:
    evotor_user_id: str
    token: str


def parse_user_token(data: dict) -> UserToken:
    """§7.3: `userId` and the cloud `token`."""
    user_id = evotor_user_id(data)
    token = text(data, ("token",), max_length=4096, secret=True)
    return UserToken(user_id, token)


@dataclass(frozen=True)
class InstallationEvent:
    event_id: str | None
    type: str
    evotor_user_id: str | None
    product_id: str | None
    occurred_at: datetime | None


def parse_installation_event(data: dict) -> InstallationEvent:
    """§7.4: `{id, timestamp, version, type, data: {productId, userId}}`."""
    payload = data.get("data")
    if payload is not None and not isinstance(payload, dict):
        raise incorrect("data")
    payload = payload or {}
    event_type = text(data, ("type",), max_length=64)
    event_id = text(data, ("id",), required=False, max_length=64)
    user_id = text(payload, ("userId", "userUuid"), required=False, max_length=32)
    if user_id is None:
        user_id = text(data, ("userId", "userUuid"), required=False, max_length=32)
    if user_id is not None and not USER_ID_RE.match(user_id):
        raise incorrect("userId", user_id)
    product_id = text(payload, ("productId",), required=False, max_length=64)
    return InstallationEvent(
        event_id=event_id,
        type=event_type,
        evotor_user_id=user_id,
        product_id=product_id,
        occurred_at=event_time(data.get("timestamp")),
    )


@dataclass(frozen=True)
class SubscriptionEvent:
    event_id: str | None
    type: str
    evotor_user_id: str | None
    occurred_at: datetime | None


def parse_subscription_event(data: dict) -> SubscriptionEvent:
    """§7.4: `subscriptionId`, `sequenceNumber`, `userId`, `type`, `timestamp`, ..."""
    event_type = text(data, ("type",), required=False, max_length=64) or "unknown"
    subscription = text(data, ("subscriptionId",), required=False, max_length=40)
    sequence = data.get("sequenceNumber")
    event_id = text(data, ("id",), required=False, max_length=64)
    if event_id is None and subscription is not None and isinstance(sequence, int | str):
        # Evotor numbers the events of a subscription from 1: together they identify one.
        event_id = f"{subscription}:{str(sequence)[:20]}"
    user_id = text(data, ("userId", "userUuid"), required=False, max_length=32)
    if user_id is not None and not USER_ID_RE.match(user_id):
        raise incorrect("userId", user_id)
    return SubscriptionEvent(
        event_id=event_id,
        type=event_type,
        evotor_user_id=user_id,
        occurred_at=event_time(data.get("timestamp")),
    )


# Change events (docs/contracts/evotor-api.md §7.5): the 2018 SDK names types "ProductEvent", the 2025 API
# "Product"; both are read as the short name.
PRODUCT, PRODUCT_GROUP, PRODUCT_IMAGE = "Product", "ProductGroup", "ProductImage"
CATALOG_TYPES = (PRODUCT, PRODUCT_GROUP, PRODUCT_IMAGE)
CHANGE_ACTIONS = ("created", "updated", "removed")


@dataclass(frozen=True)
class ChangeEvent:
    event_id: str | None
    type: str
    action: str
    occurred_at: datetime | None
    evotor_user_id: str
    store_id: str
    entity_id: str
    payload: dict


def parse_change_event(data: dict) -> ChangeEvent:
    """The envelope `{id, timestamp, type, action, payload}` of a pushed or pulled event.

    Catalog events must name their store and object (2002/2003 otherwise); other types
    (StoreEvent, SystemEvent ping, …) are accepted as they are, to be recorded and ignored.
    """
    kind = text(data, ("type",), max_length=64)
    kind = kind.removesuffix("Event") or kind
    action = text(data, ("action",), required=kind in CATALOG_TYPES, max_length=32) or ""
    payload = data.get("payload")
    if payload is None and kind in CATALOG_TYPES:
        raise missing("payload")
    if payload is not None and not isinstance(payload, dict):
        raise incorrect("payload")
    payload = payload or {}
    store_id = entity_id = ""
    if kind in CATALOG_TYPES:
        if action not in CHANGE_ACTIONS:
            raise incorrect("action", action)
        store_id = text(payload, ("store_id",), max_length=64)
        names = ("product_id",) if kind == PRODUCT_IMAGE else ("id",)
        entity_id = text(payload, names, max_length=64)
    user_id = text(payload, ("user_id",), required=False, max_length=32) or ""
    if user_id and not USER_ID_RE.match(user_id):
        raise incorrect("payload.user_id", user_id)
    return ChangeEvent(
        event_id=text(data, ("id",), required=False, max_length=64),
        type=kind,
        action=action,
        occurred_at=event_time(data.get("timestamp")),
        evotor_user_id=user_id,
        store_id=store_id,
        entity_id=entity_id,
        payload=payload,
    )


# v1 camelCase → v2 names (docs/contracts/evotor-api.md §3.2 vs §5.2), for the legacy product notification.
_V1_TO_V2 = {
    "uuid": "id",
    "parentUuid": "parent_id",
    "measureName": "measure_name",
    "allowToSell": "allow_to_sell",
    "costPrice": "cost_price",
    "articleNumber": "article_number",
    "barCodes": "barcodes",
}
_V1_KEEP = ("name", "type", "quantity", "tax", "price", "description", "code")


def parse_legacy_products(raw: bytes, *, store_id: str) -> list[ChangeEvent]:
    """The legacy v1 notification `POST …/inventories/stores/{store}/products` (§7.5, §7.5a):
    a bare array of v1 products created on a terminal. Groups (`group: true`) are skipped;
    each product becomes a `created` change with a v2-shaped payload."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise WebhookError(SYNTAX, reason="syntax") from None
    if not isinstance(data, list):
        raise WebhookError(SYNTAX, reason="syntax")
    events = []
    for item in data:
        if not isinstance(item, dict):
            raise WebhookError(SYNTAX, reason="syntax")
        if item.get("group") is True:
            continue
        product_id = text(item, ("uuid",), max_length=64)
        payload = {v2: item[v1] for v1, v2 in _V1_TO_V2.items() if item.get(v1) is not None}
        payload.update({k: item[k] for k in _V1_KEEP if item.get(k) is not None})
        payload["store_id"] = store_id
        events.append(
            ChangeEvent(
                event_id=None,
                type=PRODUCT,
                action="created",
                occurred_at=None,
                evotor_user_id="",
                store_id=store_id,
                entity_id=product_id,
                payload=payload,
            )
        )
    return events
