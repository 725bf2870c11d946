"""The merchant's VK connection: save, test, disconnect, and its state (product.md journey).

A connection is a user access token with the `market` and `photos` rights plus the id of the
community whose Market EvoSync fills (vk-market-api.md §2). Tokens are encrypted at rest by the
model field and never logged.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from connections import vk_errors
from connections.models import ConnectionState, VkConnection
from connections.signals import (
    REASON_ACCESS,
    REASON_MARKET_OFF,
    REASON_TOKEN,
    VENDOR_VK,
    connection_broken,
    connection_restored,
)
from connections.vk_client import VkCall, VkClient

logger = logging.getLogger(__name__)

_VK_HOSTS = {"vk.com", "vk.ru", "m.vk.com", "m.vk.ru", "new.vk.com", "www.vk.com", "www.vk.ru"}
_NUMERIC_RE = re.compile(r"^-?(\d{1,15})$")
_PREFIXED_RE = re.compile(r"^(?:club|public|event)(\d{1,15})$", re.IGNORECASE)
_MARKET_RE = re.compile(r"^market-?(\d{1,15})$", re.IGNORECASE)
_SCREEN_NAME_RE = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9_.]{2,64}$")
_TOKEN_RE = re.compile(r"^[\x21-\x7e]{8,512}$")


class CommunityIdError(ValueError):
    """The text is not a community id or address; the message is for the merchant."""


class ScreenNameGiven(CommunityIdError):
    """An address with a short name (vk.com/myshop): VK must tell us its number."""

    def __init__(self, screen_name: str):
        super().__init__(
            _("“%(name)s” is a short name, not a number; EvoSync asks VK for its number.")
            % {"name": screen_name}
        )
        self.screen_name = screen_name


def parse_community_id(text: str) -> int:
    """The community number from what a merchant pastes: `123`, `-123`, `club123`,
    `public123`, `https://vk.com/club123`, `vk.com/public123`, a Market link
    (`https://vk.com/market-123?w=…`).

    Raises `ScreenNameGiven` for an address with a short name (`vk.com/myshop`) and
    `CommunityIdError` for anything else.
    """
    value = (text or "").strip()
    if not value:
        raise CommunityIdError(_("Enter the community's number or its address in VK."))
    if "/" in value or value.lower().startswith(("vk.com", "vk.ru", "m.vk.")):
        value = _path_of_vk_address(value)
    number = _NUMERIC_RE.match(value) or _PREFIXED_RE.match(value) or _MARKET_RE.match(value)
    if number:
        group_id = int(number.group(1))
        if group_id == 0:
            raise CommunityIdError(_("A community number is never 0."))
        return group_id
    if value.lstrip("-").isdigit():
        raise CommunityIdError(_("This number is too long for a VK community."))
    if value.lower().startswith("id") and value[2:].isdigit():
        raise CommunityIdError(
            _("This is the address of a person's page; EvoSync needs the community's.")
        )
    if _SCREEN_NAME_RE.match(value):
        raise ScreenNameGiven(value)
    raise CommunityIdError(
        _(
            "This does not look like a community number or address, e.g. 123456 or vk.com/club123456."
        )
    )


def _path_of_vk_address(value: str) -> str:
    if "://" not in value:
        value = "https://" + value.lstrip("/")
    parts = urlsplit(value)
    if (parts.hostname or "").lower() not in _VK_HOSTS:
        raise CommunityIdError(_("This is not a VK address: it should start with vk.com/."))
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        raise CommunityIdError(_("The address has no community in it, e.g. vk.com/club123456."))
    return segments[0]


def clean_access_token(text: str) -> str:
    """The token itself from what a merchant pastes: the token, or the whole address VK's
    authorization page redirected to (`…#access_token=…&expires_in=…`)."""
    value = (text or "").strip()
    if "access_token=" in value:
        fragment = value.split("#", 1)[1] if "#" in value else urlsplit(value).query
        value = (parse_qs(fragment).get("access_token") or [""])[0].strip()
    if not _TOKEN_RE.match(value):
        raise ValueError(
            _(
                "This does not look like a VK access token: paste the token itself (a long "
                "string without spaces) or the whole address VK showed after you allowed access."
            )
        )
    return value


def vk_community_resolve(*, access_token: str, screen_name: str) -> int:
    """The number of a community known by its short name (utils.resolveScreenName).

    Raises `CommunityIdError` when VK knows no community by that name, and the typed VK
    error when VK refuses the request.
    """
    answer = VkClient(access_token).call("utils.resolveScreenName", screen_name=screen_name)
    if not isinstance(answer, dict) or answer.get("type") not in ("group", "page", "event"):
        raise CommunityIdError(
            _("VK knows no community at vk.com/%(name)s. Check the address.")
            % {"name": screen_name}
        )
    return int(answer["object_id"])


def vk_connection_get(*, user) -> VkConnection | None:
    return VkConnection.objects.filter(user=user).first()


@transaction.atomic
def vk_connection_save(*, user, group_id: int, access_token: str | None = None) -> VkConnection:
    """Saves the token (None keeps the saved one) and the community of the user's connection.

    A new token or community starts unchecked: the state goes back to "working", the last error
    is cleared, and a new community forgets the old one's name and cached catalog.
    """
    connection, _created = VkConnection.objects.select_for_update().get_or_create(user=user)
    token_changed = bool(access_token) and access_token != connection.access_token
    group_changed = connection.group_id != group_id
    if not access_token and not connection.access_token:
        raise ValueError("A first save needs a token.")
    was_broken = connection.state == ConnectionState.BROKEN
    if token_changed:
        connection.access_token = access_token
    if group_changed:
        if connection.group_id:
            # The cached catalog is the old community's (vk_catalog's receiver forgets it).
            _announce_restored(user, disconnected=True)
        connection.group_id = group_id
        connection.group_name = ""
    if token_changed or group_changed:
        if connection.state != ConnectionState.DISABLED:
            connection.state = ConnectionState.OK
        connection.last_error = ""
        connection.last_checked_at = None
    connection.save()
    if was_broken and connection.state == ConnectionState.OK:
        _announce_restored(user)
    logger.info(
        "VK connection saved",
        extra={"user_id": user.pk, "group_id": group_id, "token_changed": token_changed},
    )
    return connection


@dataclass(frozen=True)
class VkTestResult:
    ok: bool
    message: str
    group_name: str = ""


def vk_connection_test(*, user) -> VkTestResult:
    """Checks that the token works, the community exists, its Market is on and the token may
    publish there (a user token of an administrator with the `market` right), in one `execute`.

    Marks the connection working or broken accordingly; temporary VK trouble (limits, captcha,
    VK down) leaves the state alone.
    """
    connection = vk_connection_get(user=user)
    if connection is None or not connection.access_token or not connection.group_id:
        return VkTestResult(False, _("Save a token and a community first."))
    group_id = int(connection.group_id)
    client = VkClient(connection.access_token)
    try:
        group_result, upload_result = client.execute(
            [
                VkCall("groups.getById", {"group_id": group_id, "fields": "market"}),
                VkCall("market.getProductPhotoUploadServer", {"group_id": group_id}),
            ]
        )
    except vk_errors.VkAuthError as exc:
        vk_connection_mark_broken(connection, exc.user_message, reason=REASON_TOKEN)
        return VkTestResult(False, exc.user_message)
    except vk_errors.VkApiError as exc:
        return VkTestResult(False, exc.user_message)

    if not group_result.ok:
        message = _("VK has no community number %(id)s. Check the number or the address.") % {
            "id": group_id
        }
        vk_connection_mark_broken(connection, message, reason=REASON_ACCESS)
        return VkTestResult(False, message)
    value = group_result.value
    # 5.199 answers {"groups": [...], "profiles": [...]}; older versions a bare list.
    groups = value.get("groups") if isinstance(value, dict) else value
    group = groups[0] if isinstance(groups, list) and groups and isinstance(groups[0], dict) else {}
    name = str(group.get("name") or "")
    if name and name != connection.group_name:
        VkConnection.objects.filter(pk=connection.pk).update(group_name=name)
        connection.group_name = name

    market = group.get("market") if isinstance(group.get("market"), dict) else {}
    if not upload_result.ok:
        error = upload_result.error
        if isinstance(error, vk_errors.VkPermissionError | vk_errors.VkMarketDisabledError):
            message = error.user_message
        else:
            message = _("VK refused the check: %(message)s") % {"message": error.user_message}
        vk_connection_mark_broken(connection, message, reason=broken_reason(error))
        return VkTestResult(False, message, name)
    if market.get("enabled") == 0:
        message = vk_errors.VkMarketDisabledError(1438).user_message
        vk_connection_mark_broken(connection, message, reason=REASON_MARKET_OFF)
        return VkTestResult(False, message, name)

    vk_connection_mark_ok(connection, announce=True)
    return VkTestResult(
        True,
        _(
            "Everything works: community “%(name)s”, its Market is on, and the token may publish "
            "items there."
        )
        % {"name": name or group_id},
        name,
    )


@transaction.atomic
def vk_connection_disconnect(*, user) -> bool:
    """Forgets the token and the community, and deletes the cached VK catalog.

    Returns False when there was nothing to disconnect. Items already in VK stay there.
    """
    connection = VkConnection.objects.select_for_update().filter(user=user).first()
    if connection is None or not (connection.access_token or connection.group_id):
        return False
    connection.access_token = ""
    connection.group_id = None
    connection.group_name = ""
    connection.last_error = ""
    connection.last_checked_at = None
    if connection.state != ConnectionState.DISABLED:
        connection.state = ConnectionState.OK
    connection.save()
    # Nothing is left to fix, so no alert about the old token or community stays either; the
    # cached VK catalog goes with the connection (vk_catalog's receiver).
    _announce_restored(user, disconnected=True)
    logger.info("VK connection removed", extra={"user_id": user.pk})
    return True


def _announce_restored(user, *, disconnected: bool = False) -> None:
    connection_restored.send_robust(
        VkConnection, user=user, vendor=VENDOR_VK, disconnected=disconnected
    )


def broken_reason(error: vk_errors.VkApiError) -> str:
    """Which `connections.signals.REASON_*` a VK error that breaks a connection stands for."""
    if isinstance(error, vk_errors.VkMarketDisabledError):
        return REASON_MARKET_OFF
    if isinstance(error, vk_errors.VkAuthError):
        return REASON_TOKEN
    return REASON_ACCESS


@transaction.atomic
def vk_connection_mark_broken(
    connection: VkConnection, message: str, *, reason: str = REASON_TOKEN
) -> None:
    """Records that VK refuses this connection (token revoked, rights, Market off, community
    gone), with the explanation the merchant sees. A connection staff disabled stays disabled.

    A connection that becomes broken here sends `connection_broken` with `reason` (one of
    `connections.signals.REASON_*`), and the merchant gets an alert; one already broken does not.
    """
    now = timezone.now()
    current = VkConnection.objects.select_for_update().filter(pk=connection.pk).first()
    previous = current.state if current is not None else connection.state
    state = (
        ConnectionState.DISABLED if previous == ConnectionState.DISABLED else ConnectionState.BROKEN
    )
    VkConnection.objects.filter(pk=connection.pk).update(
        state=state, last_error=message, last_checked_at=now, updated_at=now
    )
    connection.state, connection.last_error, connection.last_checked_at = state, message, now
    logger.warning("VK connection broken", extra={"user_id": connection.user_id})
    if current is not None and previous == ConnectionState.OK:
        connection_broken.send_robust(
            VkConnection, user=current.user, vendor=VENDOR_VK, message=message, reason=reason
        )


@transaction.atomic
def vk_connection_mark_ok(connection: VkConnection, *, announce: bool = False) -> None:
    """Records that the connection works again (a successful test or run).

    A broken connection that works again sends `connection_restored` (its alerts go); with
    `announce` (a check the merchant asked for) it is sent whatever the state was.
    """
    now = timezone.now()
    current = VkConnection.objects.select_for_update().filter(pk=connection.pk).first()
    previous = current.state if current is not None else connection.state
    state = ConnectionState.DISABLED if previous == ConnectionState.DISABLED else ConnectionState.OK
    VkConnection.objects.filter(pk=connection.pk).update(
        state=state, last_error="", last_checked_at=now, updated_at=now
    )
    connection.state, connection.last_error, connection.last_checked_at = state, "", now
    if current is not None and (
        previous == ConnectionState.BROKEN or (announce and previous == ConnectionState.OK)
    ):
        _announce_restored(current.user)


def vk_connection_record_error(connection: VkConnection, error: vk_errors.VkApiError) -> bool:
    """For a run that hit `error`: marks the connection broken when only the merchant can fix
    the cause (token, rights, Market off). Returns whether it did."""
    if isinstance(
        error,
        vk_errors.VkAuthError | vk_errors.VkPermissionError | vk_errors.VkMarketDisabledError,
    ):
        vk_connection_mark_broken(connection, error.user_message, reason=broken_reason(error))
        return True
    return False


def vk_client_for(connection: VkConnection) -> VkClient:
    """A client for the connection's token (the caller checks `connection.is_usable`)."""
    return VkClient(connection.access_token)
