"""The VK API client for VK Market (docs/contracts/vk-market-api.md).

One `VkClient` per merchant token. Every API request is a form-encoded POST to
`{VK_API_URL}/{method}` with `access_token` and `v` in the body (§1), goes through
`connections.http.request` and first takes a place in the rate limiter's window shared by all
worker processes (§6), reporting back the moment the request was written to the network. VK's
`{"error": …}` envelope becomes a typed exception (connections.vk_errors):

- 6 / 9 (too many requests / flood control): backed off and retried here, a few times; then
  `VkRateLimitError`. The limiter should make them rare: `rate_refusals` counts error 6 for the
  run's figures.
- 10, HTTP 5xx, network failures, timeouts: retried with backoff, then `VkUnavailableError`.
  A write is never repeated once it may have reached VK: a lost answer raises
  `VkUnavailableError(may_have_applied=True)` so the caller checks before trying again.
- 5 (authorization failed, e.g. "access_token has expired"): when the client was given
  `on_auth_error` (a VK ID connection, connections.vk_services.vk_client_for), it is called once
  per request for a refreshed token and the request is sent again with it; otherwise, or when
  no new token comes, `VkAuthError` is raised.
- everything else is raised at once (auth, captcha, permissions, Market off, per-item errors).

`execute` runs up to 25 calls in one request; `VkRef` lets a call use an earlier call's result
(connections.vk_script). Responses are parsed into `VkAlbum` / `VkItem` here, at the edge.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from connections import http
from connections.vk_errors import (
    FLOOD_CONTROL,
    INTERNAL_SERVER_ERROR,
    NO_ANSWER,
    TOO_MANY_REQUESTS,
    VkApiError,
    VkAuthError,
    VkDependencyError,
    VkRateLimitError,
    VkScriptError,
    VkUnavailableError,
    VkUploadUrlRefused,
    error_from_payload,
)
from connections.vk_photos import normalize_product_image
from connections.vk_rate_limit import RateLimiter, default_rate_limiter, token_key
from connections.vk_script import (
    MAX_CALLS,
    VkCall,
    VkRef,
    build_execute_code,
    call_dependencies,
    form_value,
    js_falsy,
)

__all__ = [
    "MAX_CALLS",
    "VkAlbum",
    "VkCall",
    "VkCallResult",
    "VkClient",
    "VkCommunity",
    "VkItem",
    "VkRef",
]

logger = logging.getLogger(__name__)

VENDOR = "vk"
# Retries of VK's own refusals (on top of the shared limiter, which should make them rare):
# error 6 waits base × 1, 2, 3, 4 s; error 9 (flood control) waits base × 10, 30 s.
RETRIES_TOO_MANY = 4
RETRIES_FLOOD = 2
FLOOD_DELAYS = (10.0, 30.0)
ITEMS_PAGE = 200  # market.get count maximum
ALBUMS_PAGE = 100  # market.getAlbums count maximum
GROUPS_PAGE = 1000  # groups.get count maximum

# What the upload server answers when the URL itself is no longer good (sandbox.vk.upload; VK's
# own wording is not documented, docs/contracts/vk-market-api.md §13).
UPLOAD_URL_ERRORS = frozenset({"upload_url_expired"})

# Methods that change nothing at VK: safe to repeat after a lost answer.
_READ_PREFIXES = ("get", "search", "is")
_READ_METHODS = frozenset({"utils.resolveScreenName", "market.getProductPhotoUploadServer"})


def is_read_method(method: str) -> bool:
    action = method.rsplit(".", 1)[-1]
    return method in _READ_METHODS or action.startswith(_READ_PREFIXES)


@dataclass(frozen=True)
class VkAlbum:
    id: int
    owner_id: int
    title: str
    count: int
    is_main: bool
    is_hidden: bool
    photo_url: str | None
    updated_time: datetime | None
    raw: dict = field(repr=False, compare=False)


@dataclass(frozen=True)
class VkItem:
    id: int
    owner_id: int
    title: str
    description: str
    price: Decimal  # roubles; VK answers kopecks as a string
    old_price: Decimal | None
    availability: int  # 0 available, 1 removed, 2 unavailable
    sku: str
    album_ids: tuple[int, ...]
    photo_ids: tuple[int, ...]
    thumb_url: str
    category_id: int | None
    date: datetime | None
    raw: dict = field(repr=False, compare=False)


@dataclass(frozen=True)
class VkCommunity:
    """A community from `groups.get` extended=1 (VK schema `groups_group_full`)."""

    id: int
    name: str
    screen_name: str
    type: str  # "group", "page" or "event"
    is_admin: bool
    admin_level: int | None  # 1 moderator, 2 editor, 3 administrator
    market_enabled: bool | None  # None when VK did not say (no `market` object)
    photo_url: str
    deactivated: str

    @property
    def address(self) -> str:
        return f"vk.com/{self.screen_name or f'club{self.id}'}"


@dataclass
class VkCallResult:
    """What one call of an `execute` batch gave: a value or a typed error."""

    call: VkCall
    value: Any = None
    error: VkApiError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> Any:
        """The value, or the call's error raised."""
        if self.error is not None:
            raise self.error
        return self.value


class VkClient:
    """VK API calls with one user access token (never logged, never in an exception)."""

    def __init__(
        self,
        access_token: str,
        *,
        base_url: str | None = None,
        version: str | None = None,
        rate_limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] | None = None,
        on_auth_error: Callable[[], str | None] | None = None,
    ):
        self._token = access_token.strip()
        # Asked for a fresh token when VK answers error 5; returns None when there is none.
        self._on_auth_error = on_auth_error
        self._key = token_key(self._token)
        self.base_url = (base_url or settings.VK_API_URL).rstrip("/")
        self.version = version or settings.VK_API_VERSION
        self._limiter = rate_limiter or default_rate_limiter()
        # Back-off waits; None waits through connections.http.pause.
        self._sleep = sleep
        self._lock = threading.Lock()
        self.requests_made = 0
        self.uploads_made = 0
        # Requests VK refused with error 6 "Too many requests per second": the shared limiter
        # should keep this at 0; each one was retried (the backstop) or raised.
        self.rate_refusals = 0
        # Seconds spent waiting for the rate limiter.
        self.rate_wait_seconds = 0.0

    def _use_token(self, token: str) -> None:
        with self._lock:
            self._token = token.strip()
            self._key = token_key(self._token)

    def __repr__(self) -> str:
        return f"<VkClient {self.base_url} token={self._key[:8]}…>"

    # --- requests -------------------------------------------------------------------------

    def call(self, method: str, **params: Any) -> Any:
        """One API request; returns VK's `response`."""
        body = self._request(method, params, write=not is_read_method(method))
        return body.get("response")

    def execute(self, calls: Sequence[VkCall]) -> list[VkCallResult]:
        """Up to 25 calls in one API request; each call's result or error, in order.

        VK puts `false` where a call failed and lists the failures in `execute_errors`, in
        order. A call whose `VkRef` points at a failed call was skipped: it gets a
        `VkDependencyError`. Errors of the whole request (token, captcha, limits) are raised.
        """
        calls = list(calls)
        code = build_execute_code(calls)  # refuses an empty batch or more than 25 calls
        write = any(not is_read_method(call.method) for call in calls)
        body = self._request("execute", {"code": code}, write=write)
        values = body.get("response")
        if not isinstance(values, list) or len(values) != len(calls):
            raise VkScriptError(
                NO_ANSWER, "execute returned something other than one result per call"
            )
        errors = iter(body.get("execute_errors") or [])
        results: list[VkCallResult] = []
        for index, (call, value) in enumerate(zip(calls, values, strict=True)):
            failed_deps = [dep for dep in call_dependencies(call) if js_falsy(values[dep])]
            if failed_deps:
                error = VkDependencyError(method=call.method, index=failed_deps[0])
                results.append(VkCallResult(call, error=error))
            elif value is False:
                payload = next(errors, None) or {"error_code": 0, "error_msg": "call failed"}
                results.append(VkCallResult(call, error=error_from_payload(payload)))
            else:
                results.append(VkCallResult(call, value=value))
            if results[-1].error is not None:
                logger.info(
                    "VK execute call failed",
                    extra={
                        "method": call.method,
                        "position": index,
                        "code": results[-1].error.code,
                    },
                )
        return results

    def _request(self, method: str, params: dict[str, Any], *, write: bool) -> dict:
        data = {key: form_value(value) for key, value in params.items() if value is not None}
        data["v"] = self.version
        data["access_token"] = self._token
        url = f"{self.base_url}/{method}"
        too_many = flood = transient = 0
        refreshed = False
        while True:
            permit = self._limiter.acquire(self._key)
            with self._lock:
                self.requests_made += 1
                self.rate_wait_seconds += permit.waited
            try:
                body = self._post(url, data, method=method, write=write, on_sent=permit.sent)
            except VkUnavailableError as exc:
                if exc.may_have_applied and write:
                    raise
                if transient >= settings.HTTP_MAX_RETRIES:
                    raise
                self._backoff(method, exc, http.backoff_delay(transient))
                transient += 1
                continue
            error = body.get("error")
            if error is None:
                return body
            exc = error_from_payload(error if isinstance(error, dict) else {}, method=method)
            if exc.code == TOO_MANY_REQUESTS:
                with self._lock:
                    self.rate_refusals += 1
            if exc.code == TOO_MANY_REQUESTS and too_many < RETRIES_TOO_MANY:
                too_many += 1
                self._backoff(method, exc, self._base_delay() * too_many)
            elif exc.code == FLOOD_CONTROL and flood < RETRIES_FLOOD:
                self._backoff(method, exc, self._base_delay() * FLOOD_DELAYS[flood])
                flood += 1
            elif exc.code == INTERNAL_SERVER_ERROR and transient < settings.HTTP_MAX_RETRIES:
                self._backoff(method, exc, http.backoff_delay(transient))
                transient += 1
            elif isinstance(exc, VkAuthError) and self._on_auth_error and not refreshed:
                # VK refuses a token before its stated expiry too (clock skew, a token VK
                # rotated): refresh once, then send the same request again with the new token.
                refreshed = True
                new_token = self._on_auth_error()
                if not new_token:
                    raise exc
                self._use_token(new_token)
                data["access_token"] = self._token
                logger.info("VK token refreshed after error 5", extra={"method": method})
            else:
                if isinstance(exc, VkRateLimitError):
                    logger.warning(
                        "VK rate limit persists", extra={"method": method, "code": exc.code}
                    )
                raise exc

    def _post(
        self,
        url: str,
        data: dict[str, str],
        *,
        method: str,
        write: bool,
        on_sent: Callable[[], None],
    ) -> dict:
        body = _SentSignal(urlencode(data).encode(), on_sent)
        try:
            response = http.request(
                "POST",
                url,
                vendor=VENDOR,
                idempotent=not write,
                retries=0,  # retried by _request, so every attempt takes a rate-limit place
                retry_statuses=frozenset(),
                data=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except http.TransientHTTPError as exc:
            raise VkUnavailableError(
                NO_ANSWER, str(exc), method=method, may_have_applied=exc.may_have_applied
            ) from None
        finally:
            # A request that failed before its body was written, or whose report failed,
            # counts as sent now: later than it can have left, so the window stays safe.
            on_sent()
        if response.status_code >= 500:
            # A gateway error may hide a write that went through: never repeat a write.
            raise VkUnavailableError(
                NO_ANSWER,
                f"VK answered HTTP {response.status_code}",
                method=method,
                may_have_applied=write,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or ("response" not in body and "error" not in body):
            raise VkUnavailableError(
                NO_ANSWER,
                f"VK answered HTTP {response.status_code} without a VK envelope",
                method=method,
                may_have_applied=write,
            )
        return body

    def _base_delay(self) -> float:
        return settings.HTTP_BACKOFF_SECONDS

    def _backoff(self, method: str, exc: VkApiError, delay: float) -> None:
        logger.warning(
            "VK request refused, retrying",
            extra={"method": method, "code": exc.code, "delay": round(delay, 2)},
        )
        (http.pause if self._sleep is None else self._sleep)(delay)

    # --- catalog reads ----------------------------------------------------------------------

    def iter_albums(self, owner_id: int) -> Iterator[VkAlbum]:
        """All Market albums of the community (market.getAlbums, 100 per request)."""
        offset = 0
        while True:
            page = self.call(
                "market.getAlbums", owner_id=owner_id, offset=offset, count=ALBUMS_PAGE
            )
            items = page.get("items") or []
            for raw in items:
                yield parse_album(raw)
            offset += len(items)
            if not items or offset >= int(page.get("count") or 0):
                return

    def iter_items(self, owner_id: int, *, pages_per_request: int = MAX_CALLS) -> Iterator[VkItem]:
        """All items of the community, hidden ones included (market.get extended=1
        with_disabled=1, 200 per page). The first request learns the total; the remaining
        pages go `pages_per_request` at a time through `execute` (10 000 items: 3 requests).
        An item that moves between pages while the shop changes is yielded once."""
        params = {"owner_id": owner_id, "count": ITEMS_PAGE, "extended": 1, "with_disabled": 1}
        first = self.call("market.get", offset=0, **params)
        seen: set[int] = set()
        yield from _new_items(first.get("items") or [], seen)
        total = int(first.get("count") or 0)
        offsets = list(range(ITEMS_PAGE, total, ITEMS_PAGE))
        for start in range(0, len(offsets), pages_per_request):
            batch = [
                VkCall("market.get", {**params, "offset": offset})
                for offset in offsets[start : start + pages_per_request]
            ]
            for result in self.execute(batch):
                yield from _new_items(result.unwrap().get("items") or [], seen)

    # --- communities -------------------------------------------------------------------------

    def admin_communities(self) -> list[VkCommunity]:
        """The communities the token's person administers, with whether their Market is on:
        `groups.get` filter=admin extended=1 fields=market (VK schema groups/methods.json;
        at most 1000, more than any shop owner runs)."""
        answer = self.call(
            "groups.get",
            filter="admin",
            extended=1,
            fields="market,screen_name,type,is_admin,admin_level,photo_100,deactivated",
            count=GROUPS_PAGE,
        )
        items = answer.get("items") if isinstance(answer, dict) else None
        return [parse_community(raw) for raw in items or [] if isinstance(raw, dict)]

    # --- product photos (§4.1) ----------------------------------------------------------------

    def upload_product_photo(self, group_id: int, image: bytes) -> int:
        """The whole photo flow for one image; returns the photo id for market.add/edit.

        Raises `InvalidImageError` (a ValueError) for a file that is not a readable image.
        """
        jpeg = normalize_product_image(image)
        server = self.call("market.getProductPhotoUploadServer", group_id=abs(group_id))
        upload_response = self.upload_photo(server["upload_url"], jpeg)
        return self.save_product_photo(upload_response)

    def get_upload_urls(self, group_id: int, n: int, *, bulk: bool = False) -> list[str]:
        """`n` upload URLs (`bulk`: each takes several files in one POST), 25 per `execute`."""
        urls: list[str] = []
        calls = [upload_url_call(group_id, bulk=bulk) for _ in range(n)]
        for start in range(0, n, MAX_CALLS):
            for result in self.execute(calls[start : start + MAX_CALLS]):
                urls.append(result.unwrap()["upload_url"])
        return urls

    def upload_photo(self, upload_url: str, jpeg_bytes: bytes) -> str:
        """POSTs the file to the upload server (not an API request); returns its answer verbatim,
        to be passed as `upload_response` to market.saveProductPhoto."""
        return self.upload_photos(upload_url, [jpeg_bytes], bulk=False)

    def upload_photos(self, upload_url: str, jpegs: Sequence[bytes], *, bulk: bool) -> str:
        """POSTs files to an upload URL (not an API request) and returns its answer verbatim:
        a plain URL takes one file (field `file`), a `bulk=1` URL several in one POST (`file1`…
        `fileN`, docs/contracts/vk-market-api.md §13), saved by market.saveProductPhotoBulk.

        Raises `VkUploadUrlRefused` when the server refuses the URL itself (take a fresh one);
        any other answer, a refused image included, is returned for the save to judge.
        """
        if not jpegs or (len(jpegs) > 1 and not bulk):
            raise ValueError("one file for a plain upload URL, one or more for a bulk one")
        if bulk:
            files = {
                f"file{number}": (f"photo{number}.jpg", data, "image/jpeg")
                for number, data in enumerate(jpegs, start=1)
            }
        else:
            files = {"file": ("photo.jpg", jpegs[0], "image/jpeg")}
        try:
            response = http.request(
                "POST", upload_url, vendor="vk-upload", idempotent=False, files=files
            )
        except http.TransientHTTPError as exc:
            # An orphan upload is harmless: the caller may take a new URL and upload again.
            raise VkUnavailableError(NO_ANSWER, str(exc), method="upload") from None
        with self._lock:
            self.uploads_made += 1
        if response.status_code != 200:
            raise VkUnavailableError(
                NO_ANSWER, f"upload server answered HTTP {response.status_code}", method="upload"
            )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict) and answer.get("error") in UPLOAD_URL_ERRORS:
            raise VkUploadUrlRefused(NO_ANSWER, str(answer.get("error")), method="upload")
        return response.text

    def save_product_photo(self, upload_response: str) -> int:
        return int(
            self.call("market.saveProductPhoto", upload_response=upload_response)["photo_id"]
        )

    def save_product_photos(self, upload_response: str) -> list[int]:
        """market.saveProductPhotoBulk: the photo ids of a bulk upload, in its files' order."""
        saved = self.call("market.saveProductPhotoBulk", upload_response=upload_response)
        return [int(entry["photo_id"]) for entry in saved]

    @staticmethod
    def save_product_photo_call(upload_response: str, *, bulk: bool = False) -> VkCall:
        """The save call to chain in an `execute` before market.add/edit: its result is
        `{"photo_id"}`, or with `bulk` a list of them (`VkRef(i, "0.photo_id")`)."""
        method = "market.saveProductPhotoBulk" if bulk else "market.saveProductPhoto"
        return VkCall(method, {"upload_response": upload_response})


def upload_url_call(group_id: int, *, bulk: bool) -> VkCall:
    """market.getProductPhotoUploadServer (docs/contracts/vk-market-api.md §3, `bulk` §13)."""
    params = {"group_id": abs(int(group_id))}
    if bulk:
        params["bulk"] = 1
    return VkCall("market.getProductPhotoUploadServer", params)


# --- parsing at the edge ----------------------------------------------------------------------


class _SentSignal:
    """A form body that reports when the HTTP library has written the last of it to the socket.

    VK counts a request when it arrives; the limiter's log must not hold an earlier time than
    that. urllib3 iterates the body and writes each chunk before asking for the next, so the
    moment the iteration ends is just after the request left: a thread descheduled between the
    permit and the write reports late, never early (connections/vk_rate_limit.py)."""

    def __init__(self, payload: bytes, on_sent: Callable[[], None]):
        self._payload = payload
        self._on_sent = on_sent

    def __len__(self) -> int:
        return len(self._payload)  # sent as Content-Length, not chunked

    def __iter__(self) -> Iterator[bytes]:
        yield self._payload
        try:
            self._on_sent()
        except Exception:
            # The store did not answer: _post reports once more after the response, and
            # raises there if it still cannot.
            logger.warning("VK rate limiter: could not record a request as sent", exc_info=True)


def _new_items(raw_items: list, seen: set[int]) -> Iterator[VkItem]:
    for raw in raw_items:
        item = parse_item(raw)
        if item.id not in seen:
            seen.add(item.id)
            yield item


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC) if value else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def kopecks_to_roubles(amount: Any) -> Decimal | None:
    """VK's `amount` ("12345", kopecks as a string) → Decimal("123.45")."""
    if amount in (None, ""):
        return None
    try:
        return (Decimal(str(amount)) / 100).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def _largest_size_url(photo: Any) -> str | None:
    if not isinstance(photo, dict):
        return None
    sizes = [s for s in photo.get("sizes") or [] if isinstance(s, dict) and s.get("url")]
    if not sizes:
        return None
    return max(sizes, key=lambda s: int(s.get("width") or 0))["url"]


def parse_community(raw: dict) -> VkCommunity:
    market = raw.get("market") if isinstance(raw.get("market"), dict) else None
    enabled = market.get("enabled") if market is not None else None
    try:
        admin_level = int(raw["admin_level"]) if raw.get("admin_level") else None
    except (TypeError, ValueError):
        admin_level = None
    return VkCommunity(
        id=int(raw["id"]),
        name=str(raw.get("name") or ""),
        screen_name=str(raw.get("screen_name") or ""),
        type=str(raw.get("type") or "group"),
        is_admin=bool(raw.get("is_admin")),
        admin_level=admin_level,
        market_enabled=None if enabled is None else bool(enabled),
        photo_url=str(raw.get("photo_100") or raw.get("photo_50") or ""),
        deactivated=str(raw.get("deactivated") or ""),
    )


def parse_album(raw: dict) -> VkAlbum:
    return VkAlbum(
        id=int(raw["id"]),
        owner_id=int(raw.get("owner_id") or 0),
        title=str(raw.get("title") or ""),
        count=int(raw.get("count") or 0),
        is_main=bool(raw.get("is_main")),
        is_hidden=bool(raw.get("is_hidden")),
        photo_url=_largest_size_url(raw.get("photo")),
        updated_time=_timestamp(raw.get("updated_time")),
        raw=raw,
    )


def parse_item(raw: dict) -> VkItem:
    price = raw.get("price") if isinstance(raw.get("price"), dict) else {}
    category = raw.get("category") if isinstance(raw.get("category"), dict) else {}
    photos = [p for p in raw.get("photos") or [] if isinstance(p, dict) and "id" in p]
    try:
        category_id = int(category["id"]) if "id" in category else None
    except (TypeError, ValueError):
        category_id = None
    return VkItem(
        id=int(raw["id"]),
        owner_id=int(raw.get("owner_id") or 0),
        title=str(raw.get("title") or ""),
        description=str(raw.get("description") or ""),
        price=kopecks_to_roubles(price.get("amount")) or Decimal("0.00"),
        old_price=kopecks_to_roubles(price.get("old_amount")),
        availability=int(raw.get("availability") or 0),
        sku=str(raw.get("sku") or ""),
        album_ids=tuple(int(a) for a in raw.get("albums_ids") or []),
        photo_ids=tuple(int(p["id"]) for p in photos),
        thumb_url=str(
            raw.get("thumb_photo") or _largest_size_url(photos[0] if photos else None) or ""
        ),
        category_id=category_id,
        date=_timestamp(raw.get("date")),
        raw=raw,
    )
