"""Client of the Evotor cloud API v2: stores, product groups, products and their images.

Contract: docs/contracts/evotor-api.md (§1 headers, §3 endpoints, §4 paging, §5 shapes,
§6 errors and rate limits). Every request goes through `connections.http.request`; answers are
parsed here into frozen dataclasses, so the rest of EvoSync never touches Evotor's JSON.

Error policy:

* 401 → `EvotorAuthError` (the token no longer works; the service marks the connection broken);
* 402/403 on a store's path → `EvotorStoreUnavailable` (skip that store, go on with the others);
  402/403 outside a store → `EvotorAuthError` (the app is not installed or lacks rights);
  404 on a store's list → `EvotorStoreUnavailable` too (the store was deleted meanwhile);
* 429 → wait `X-RateLimit-Reset` seconds (at most `max_rate_limit_wait`) and go on; only if the
  wait is longer, or the limit keeps answering, `EvotorRateLimited`;
* 5xx, timeouts, connection errors (retried by connections.http) and malformed JSON or an
  unexpected shape (retried here, same backoff) → `EvotorUnavailable` / `EvotorBadResponse`.

Lists are generators that fetch one page at a time: a caller streaming a catalog into a
transaction never holds more than one page, and an error mid-way leaves it nothing half-done
to commit. Exception messages never contain the token.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from connections import http

logger = logging.getLogger(__name__)

ACCEPT = "application/vnd.evotor.v2+json"
VENDOR = "evotor"
AUTH_HEADER_STYLES = ("bearer", "x-authorization")
# Rate-limit waits longer than this are not slept through: the caller gets EvotorRateLimited.
MAX_RATE_LIMIT_WAIT = 60.0
MAX_RATE_LIMIT_RETRIES = 5
MAX_IMAGE_BYTES = 10 * 1024 * 1024


# --- errors ------------------------------------------------------------------------------------
class EvotorError(Exception):
    """Base of every Evotor failure. The message is safe to log and never holds the token;
    pages show a Russian text chosen by the service layer instead."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class EvotorAuthError(EvotorError):
    """401 (or 402/403 outside a store): the cloud token no longer gives access."""


class EvotorStoreUnavailable(EvotorError):
    """402/403 (or 404) on one store's path: skip that store, the others go on."""

    def __init__(self, message: str, *, store_id: str, status: int | None = None):
        super().__init__(message, status=status)
        self.store_id = store_id


class EvotorRateLimited(EvotorError):
    """429 that cannot be waited out here; `retry_after` is in seconds when Evotor said it."""

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message, status=429)
        self.retry_after = retry_after


class EvotorUnavailable(EvotorError):
    """Evotor did not answer usefully after the retries (5xx, timeouts, network)."""


class EvotorBadResponse(EvotorUnavailable):
    """The answer was not the JSON we expect (malformed, or of an unexpected shape)."""


# --- typed results -----------------------------------------------------------------------------
@dataclass(frozen=True)
class EvotorStore:
    id: str
    name: str
    address: str
    updated_at: datetime | None


@dataclass(frozen=True)
class EvotorGroup:
    id: str
    store_id: str
    name: str
    parent_id: str | None
    updated_at: datetime | None
    raw: dict = field(compare=False, repr=False)

    @property
    def is_modification_group(self) -> bool:
        """A group with `attributes` holds the variants of one product (§5.3)."""
        return bool(self.raw.get("attributes"))


@dataclass(frozen=True)
class EvotorProduct:
    id: str
    store_id: str
    name: str
    parent_id: str | None
    type: str  # open enum: NORMAL, SERVICE, ALCOHOL_MARKED, TOBACCO_MARKED, ... (§5.2)
    price: Decimal
    cost_price: Decimal | None
    quantity: Decimal | None  # absent without the stock permission, and for services
    measure_name: str
    allow_to_sell: bool
    description: str
    article_number: str
    code: str
    barcodes: tuple[str, ...]
    tax: str  # open enum: NO_VAT, VAT_0, VAT_10, VAT_18 (20 % since 2019), ...
    updated_at: datetime | None
    raw: dict = field(compare=False, repr=False)


@dataclass(frozen=True)
class EvotorImage:
    id: str
    product_id: str
    url: str
    width: int | None
    height: int | None


# --- parsing helpers ---------------------------------------------------------------------------
def parse_timestamp(value) -> datetime | None:
    """Evotor's `2018-09-11T16:18:35.397+0000` (also `Z`, `+00:00`, or Unix ms) → aware UTC."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def to_epoch_ms(moment: datetime) -> int:
    """`since` is Unix milliseconds (§4, §10.4); a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _decimal(value, *, field_name: str, required: bool = False) -> Decimal | None:
    if value is None or isinstance(value, bool):
        if required and value is None:
            return Decimal(0)
        if value is None:
            return None
        raise EvotorBadResponse(f"Evotor sent a non-number in {field_name!r}")
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise EvotorBadResponse(f"Evotor sent a non-number in {field_name!r}") from None
    if not number.is_finite():
        raise EvotorBadResponse(f"Evotor sent a non-number in {field_name!r}")
    return number


def _text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    return ""


def _optional_id(value) -> str | None:
    text = _text(value).strip()
    return text or None


def _required_id(item: dict, what: str) -> str:
    value = _optional_id(item.get("id"))
    if value is None:
        raise EvotorBadResponse(f"Evotor sent a {what} without an id")
    return value


def _bool(value, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
    if isinstance(value, int):
        return bool(value)
    return default


def _int_or_none(value) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_store(item: dict) -> EvotorStore:
    return EvotorStore(
        id=_required_id(item, "store"),
        name=_text(item.get("name")),
        address=_text(item.get("address")),
        updated_at=parse_timestamp(item.get("updated_at")),
    )


def parse_group(item: dict, store_id: str) -> EvotorGroup:
    return EvotorGroup(
        id=_required_id(item, "product group"),
        store_id=store_id,
        name=_text(item.get("name")),
        parent_id=_optional_id(item.get("parent_id")),
        updated_at=parse_timestamp(item.get("updated_at")),
        raw=item,
    )


def parse_product(item: dict, store_id: str) -> EvotorProduct:
    barcodes = item.get("barcodes")
    return EvotorProduct(
        id=_required_id(item, "product"),
        store_id=store_id,
        name=_text(item.get("name")),
        parent_id=_optional_id(item.get("parent_id")),
        type=_text(item.get("type")) or "NORMAL",
        price=_decimal(item.get("price"), field_name="price", required=True),
        cost_price=_decimal(item.get("cost_price"), field_name="cost_price"),
        quantity=_decimal(item.get("quantity"), field_name="quantity"),
        measure_name=_text(item.get("measure_name")),
        allow_to_sell=_bool(item.get("allow_to_sell"), default=True),
        description=_text(item.get("description")),
        article_number=_text(item.get("article_number")),
        code=_text(item.get("code")),
        barcodes=tuple(text for text in (_text(b).strip() for b in barcodes or ()) if text)
        if isinstance(barcodes, list)
        else (),
        tax=_text(item.get("tax")),
        updated_at=parse_timestamp(item.get("updated_at")),
        raw=item,
    )


def parse_image(item: dict, product_id: str) -> EvotorImage:
    meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
    url = _text(item.get("url")).strip()
    if not url:
        raise EvotorBadResponse("Evotor sent an image without a url")
    return EvotorImage(
        id=_required_id(item, "image"),
        product_id=_optional_id(item.get("product_id")) or product_id,
        url=url,
        width=_int_or_none(meta.get("width")),
        height=_int_or_none(meta.get("height")),
    )


def _is_page(data) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("items"), list)
        and all(isinstance(item, dict) for item in data["items"])
        and isinstance(data.get("paging", {}), dict)
    )


# --- the client --------------------------------------------------------------------------------
class EvotorClient:
    """One merchant's access to the Evotor cloud, with their cloud token."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        auth_header: str | None = None,
        page_size: int | None = None,
        sleep: Callable[[float], None] | None = None,
        max_rate_limit_wait: float = MAX_RATE_LIMIT_WAIT,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        if not token:
            raise EvotorAuthError("No Evotor cloud token is stored for this connection")
        self._token = token
        self.base_url = (base_url or settings.EVOTOR_API_URL).rstrip("/")
        self.auth_header = (auth_header or settings.EVOTOR_AUTH_HEADER).strip().lower()
        if self.auth_header not in AUTH_HEADER_STYLES:
            raise ImproperlyConfigured(
                f"EVOTOR_AUTH_HEADER must be one of {', '.join(AUTH_HEADER_STYLES)}, "
                f"not {self.auth_header!r}."
            )
        # `limit` is documented for lists in general (§4); None leaves Evotor's 1000.
        self.page_size = page_size
        # Waits between attempts; None waits through connections.http.pause.
        self._sleep = sleep
        self.max_rate_limit_wait = max_rate_limit_wait
        self._monotonic = monotonic

    def __repr__(self) -> str:
        return f"<EvotorClient {self.base_url}>"

    # --- public reads ----------------------------------------------------------------------
    def list_stores(self) -> list[EvotorStore]:
        """Every store of the merchant (GET /stores, all pages; §3.1, §5.1)."""
        return [parse_store(item) for page in self._pages("/stores") for item in page]

    def iter_groups(self, store_id: str, *, since: datetime | None = None) -> Iterator[EvotorGroup]:
        """The store's product groups, page by page; `since` only those changed since (§5.3)."""
        path = f"/stores/{store_id}/product-groups"
        for page in self._pages(path, store_id=store_id, since=since):
            for item in page:
                yield parse_group(item, store_id)

    def iter_products(
        self, store_id: str, *, since: datetime | None = None
    ) -> Iterator[EvotorProduct]:
        """The store's products, page by page, never the whole catalog at once (§5.2)."""
        path = f"/stores/{store_id}/products"
        for page in self._pages(path, store_id=store_id, since=since):
            for item in page:
                yield parse_product(item, store_id)

    def iter_event_pages(
        self, app_id: str, *, types: list[str], since_ms: int
    ) -> Iterator[list[dict]]:
        """The application's events since `since_ms` (inclusive), page by page: the pull API of
        §7.5/§7.5a, read with the publisher token. Raw envelopes: `webhooks.payloads` parses
        them, as it does the pushed ones."""
        path = f"/api/apps/{app_id}/events"
        yield from self._pages(path, filters={"type": ",".join(types), "since": since_ms})

    def list_product_images(self, store_id: str, product_id: str) -> list[EvotorImage]:
        """The product's pictures (at most one 300×300 PNG, §3.1, §5.4); [] if it is gone."""
        path = f"/stores/{store_id}/products/{product_id}/images"
        try:
            return [
                parse_image(item, product_id)
                for page in self._pages(path, store_id=store_id)
                for item in page
            ]
        except EvotorStoreUnavailable as exc:
            if exc.status == 404:
                return []
            raise

    def download_image(self, url: str) -> bytes:
        """The picture's bytes, within EVOTOR_IMAGE_DOWNLOAD_SECONDS in total.

        Image URLs come from Evotor's data, so only hosts of EVOTOR_IMAGE_HOSTS (and Evotor's
        API host) are fetched, redirects included; the token goes only to Evotor's API origin.
        Error texts are generic (they reach the merchant); the details go to the log.
        """
        absolute = urljoin(self.base_url + "/", url)
        if not self.image_host_allowed(absolute):
            logger.info("Evotor image on a host not allowed", extra={"vendor": VENDOR})
            raise EvotorBadResponse("The Evotor picture is not on one of Evotor's servers")
        same_origin = http.same_origin(absolute, self.base_url)
        headers = {"Accept": "image/png, image/*"}
        if same_origin:
            headers.update(self._auth_headers())
        deadline = self._monotonic() + settings.EVOTOR_IMAGE_DOWNLOAD_SECONDS
        # One read never waits longer than the whole download may take.
        read_timeout = min(settings.HTTP_READ_TIMEOUT, settings.EVOTOR_IMAGE_DOWNLOAD_SECONDS)
        rate_limited = 0
        while True:
            try:
                response = http.request(
                    "GET",
                    absolute,
                    vendor=VENDOR,
                    headers=headers,
                    stream=True,
                    sleep=self._sleep,
                    timeout=(settings.HTTP_CONNECT_TIMEOUT, read_timeout),
                    follow_to=self.image_host_allowed,
                )
            except http.TransientHTTPError as exc:
                logger.info(
                    "Evotor image not downloaded",
                    extra={"vendor": VENDOR, "status": exc.status, "error": str(exc)},
                )
                raise EvotorUnavailable(
                    "Evotor's picture server did not answer; the next sync tries again",
                    status=exc.status,
                ) from None
            except requests.RequestException as exc:
                raise EvotorUnavailable(
                    f"evotor: image request failed ({type(exc).__name__})"
                ) from None
            with response:
                status = response.status_code
                if status == 429:
                    rate_limited += 1
                    self._wait_out_rate_limit(response, rate_limited)
                    continue
                if status == 401 and same_origin:
                    raise EvotorAuthError("Evotor rejected the cloud token (HTTP 401)", status=401)
                content_type = response.headers.get("Content-Type", "").lower()
                if status != 200 or content_type.startswith(("text/", "application/json")):
                    logger.info(
                        "Evotor image not downloaded",
                        extra={"vendor": VENDOR, "status": status, "content_type": content_type},
                    )
                    raise EvotorError("Evotor did not send the picture", status=status)
                return self._read_capped(response, deadline)

    def image_host_allowed(self, url: str) -> bool:
        """True for an https (or the API's own scheme) URL on a host of EVOTOR_IMAGE_HOSTS.

        An entry starting with a dot matches the domain and its subdomains (".evotor.ru");
        Evotor's API host is always allowed, so the sandbox works without configuration.
        """
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        if not host or parts.scheme not in ("https", urlsplit(self.base_url).scheme):
            return False
        if http.same_origin(url, self.base_url):
            return True
        for allowed in settings.EVOTOR_IMAGE_HOSTS:
            allowed = allowed.strip().lower()
            if allowed.startswith("."):
                if host == allowed[1:] or host.endswith(allowed):
                    return True
            elif host == allowed:
                return True
        return False

    # --- plumbing --------------------------------------------------------------------------
    def _auth_headers(self) -> dict[str, str]:
        if self.auth_header == "x-authorization":
            return {"X-Authorization": self._token}
        return {"Authorization": f"Bearer {self._token}"}

    def _headers(self) -> dict[str, str]:
        return {"Accept": ACCEPT, **self._auth_headers()}

    def _read_capped(self, response: requests.Response, deadline: float) -> bytes:
        # read1 returns what one socket read brings, so a server dripping a byte at a time
        # cannot hold us past the deadline (iter_content waits for a whole chunk).
        chunks, size = [], 0
        try:
            while chunk := response.raw.read1(64 * 1024, decode_content=True):
                size += len(chunk)
                if size > MAX_IMAGE_BYTES:
                    raise EvotorBadResponse("Evotor image is larger than 10 MB")
                if self._monotonic() > deadline:
                    raise EvotorUnavailable("evotor: the picture took too long to download")
                chunks.append(chunk)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise EvotorUnavailable(
                f"evotor: image download broke off ({type(exc).__name__})"
            ) from None
        if not size:
            raise EvotorBadResponse("Evotor sent an empty image")
        return b"".join(chunks)

    def _wait(self, seconds: float) -> None:
        (http.pause if self._sleep is None else self._sleep)(seconds)

    def _wait_out_rate_limit(self, response: requests.Response, attempt: int) -> None:
        """Sleep until Evotor's window resets (§6.2), or raise if that is not reasonable."""
        header = response.headers.get("X-RateLimit-Reset")
        try:
            reset = float(header) if header is not None else None
        except ValueError:
            reset = None
        if reset is not None and reset > self.max_rate_limit_wait:
            raise EvotorRateLimited(
                f"Evotor rate limit resets in {reset:g} s, longer than we wait", retry_after=reset
            )
        if attempt > MAX_RATE_LIMIT_RETRIES:
            raise EvotorRateLimited("Evotor keeps answering 429", retry_after=reset)
        wait = reset if reset is not None and reset > 0 else max(1.0, http.backoff_delay(attempt))
        logger.info(
            "Evotor rate limit reached, waiting",
            extra={"vendor": VENDOR, "wait": wait, "attempt": attempt},
        )
        self._wait(wait)

    def _get_json(self, path: str, params: dict, *, store_id: str | None, expect) -> dict:
        url = self.base_url + path
        rate_limited = 0
        malformed = 0
        while True:
            try:
                response = http.request(
                    "GET",
                    url,
                    vendor=VENDOR,
                    params=params,
                    headers=self._headers(),
                    sleep=self._sleep,
                )
            except http.TransientHTTPError as exc:
                raise EvotorUnavailable(str(exc), status=exc.status) from None
            except requests.RequestException as exc:
                raise EvotorUnavailable(f"evotor: request failed ({type(exc).__name__})") from None
            status = response.status_code
            if status == 429:
                rate_limited += 1
                self._wait_out_rate_limit(response, rate_limited)
                continue
            self._raise_for_status(status, store_id)
            try:
                data = json.loads(response.content)
            except (ValueError, RecursionError):
                data = _MALFORMED
            if data is not _MALFORMED and expect(data):
                return data
            malformed += 1
            what = "malformed JSON" if data is _MALFORMED else "JSON of an unexpected shape"
            if malformed > settings.HTTP_MAX_RETRIES:
                raise EvotorBadResponse(f"Evotor sent {what} for {path}")
            delay = http.backoff_delay(malformed - 1)
            logger.warning(
                "Evotor sent %s, retrying",
                what,
                extra={"vendor": VENDOR, "path": path, "attempt": malformed, "delay": delay},
            )
            self._wait(delay)

    @staticmethod
    def _raise_for_status(status: int, store_id: str | None) -> None:
        if 200 <= status < 300:
            return
        if status == 401:
            raise EvotorAuthError("Evotor rejected the cloud token (HTTP 401)", status=status)
        if status in (402, 403, 404) and store_id is not None:
            raise EvotorStoreUnavailable(
                f"Evotor refused store {store_id} (HTTP {status})", store_id=store_id, status=status
            )
        if status in (402, 403):
            raise EvotorAuthError(f"Evotor refused access (HTTP {status})", status=status)
        if status >= 500:
            raise EvotorUnavailable(f"evotor: server error HTTP {status}", status=status)
        raise EvotorError(f"Evotor answered HTTP {status}", status=status)

    def _pages(
        self,
        path: str,
        *,
        store_id: str | None = None,
        since: datetime | None = None,
        filters: dict | None = None,
    ) -> Iterator[list[dict]]:
        """Follow `paging.next_cursor` until it is gone (§4); filters go in the first request."""
        params: dict[str, object] = dict(filters or {})
        if since is not None:
            params["since"] = to_epoch_ms(since)
        if self.page_size:
            params["limit"] = self.page_size
        seen: set[str] = set()
        page_number = 0
        while True:
            data = self._get_json(path, params, store_id=store_id, expect=_is_page)
            page_number += 1
            logger.debug(
                "Evotor page",
                extra={
                    "vendor": VENDOR,
                    "path": path,
                    "page": page_number,
                    "items": len(data["items"]),
                },
            )
            yield data["items"]
            cursor = (data.get("paging") or {}).get("next_cursor")
            if not cursor:
                return
            if not isinstance(cursor, str) or cursor in seen:
                raise EvotorBadResponse(f"Evotor sent a bad or repeated cursor for {path}")
            seen.add(cursor)
            params = {"cursor": cursor}


_MALFORMED = object()
