"""The VK API emulator (docs/contracts/vk-market-api.md §13), served under /vk by sandbox.server.

    POST|GET /method/<name>       the API: form-encoded or multipart, `access_token` or Bearer;
                                  always HTTP 200 with {"response": …} or {"error": …}
    POST     /upload/<key>        the photo upload server (sandbox.vk.upload), bulk or plain
    GET      /photo/<id>.jpg      photo and thumbnail URLs the API hands out
    GET|POST /id/authorize        VK ID's consent page, POST /id/oauth2/auth its token and
                                  refresh endpoint (sandbox.vk.vkid)
    POST     /_control/<action>   JSON controls for an out-of-process sandbox (tests, demo,
                                  benchmarks): the same operations as the Python methods below

Stateful per community (sandbox.vk.state), `execute` through a VKScript subset
(sandbox.vk.vkscript), a per-token sliding one-second window answering error 6, switchable
failures (`fail`, `slow`) and a log of every request with its time, so a benchmark can count
the most requests any token sent in one second.

The rate limit is VK's (docs/contracts/vk-market-api.md §6): a user token may have 3 requests accepted in any
one-second window; the 4th is refused with error 6 "Too many requests per second" and counted
in `refused_by_token`, so a test can assert the client's limiter from the outside. Requests are
placed in the window by their arrival time on this host (sandbox.server.RECEIVED_AT), not by
when a thread got round to them. `set_rate_limit` loosens the limit for tests that are not
about it; `reset` restores VK's.
"""

from __future__ import annotations

import bisect
import io
import json
import secrets
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

from PIL import Image

from sandbox.server import RECEIVED_AT
from sandbox.vk import properties as _properties  # noqa: F401  registers its methods
from sandbox.vk import vkscript
from sandbox.vk.state import Album, ApiError, Group, Item, MarketApi, Photo, Token
from sandbox.vk.upload import check_files, handle_upload, parse_multipart
from sandbox.vk.vkid import DEMO_CLIENT_ID, VkIdServer

__all__ = ["DEMO_CLIENT_ID", "VkSandbox"]

DEMO_USER_TOKEN = "vk-demo-token"
DEMO_GROUP_TOKEN = "vk-demo-group-token"
DEMO_USER_ID = 1001
DEMO_USER_NAME = "Анна Демо"
DEMO_GROUP_ID = 200001
DEMO_MARKET_OFF_GROUP_ID = 200002
# A community the demo user only edits (not an administrator): listed by groups.get
# filter=editor, left out by filter=admin, refused by the Market.
DEMO_EDITOR_GROUP_ID = 200003
DEFAULT_RATE_LIMIT = 3  # user token, requests per second (docs/contracts/vk-market-api.md §6)
DEFAULT_GROUP_RATE_LIMIT = 20  # community token
MAX_BODY_BYTES = 60 * 1024 * 1024
# The request and call logs keep this many entries, so a long demo does not grow without end.
LOG_LIMIT = 200_000


@dataclass
class _Failure:
    code: int
    method: str | None
    remaining: int | None
    captcha_sid: str = ""
    message: str = ""


@dataclass
class _Slow:
    seconds: float
    method: str | None
    remaining: int | None
    skip: int = 0


class VkSandbox:
    """The whole emulator; every public method is safe to call from any thread."""

    def __init__(self, public_url: str, seed: bool = True):
        self.public_url = public_url.rstrip("/")
        self._seed = seed
        self._lock = threading.RLock()
        self.reset()

    # --- lifecycle ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the starting state: seeded demo data, no failures, real limits, empty logs."""
        with self._lock:
            self.api = MarketApi(self.public_url)
            self.rate_limit_per_second = DEFAULT_RATE_LIMIT
            self.group_rate_limit_per_second = DEFAULT_GROUP_RATE_LIMIT
            # Tests that check the window itself set a clock: then it, not the arrival time,
            # dates each request.
            self.clock: Callable[[], float] | None = None
            self._failures: list[_Failure] = []
            self._slows: list[_Slow] = []
            self._called_inside: set[str] = set()
            self._captchas: set[str] = set()
            # Accepted requests' arrival times per token, sorted (threads may take requests
            # out of their arrival order), trimmed to the last few seconds.
            self._windows: dict[str, list[float]] = defaultdict(list)
            self.refused_by_token: Counter[str] = Counter()
            self.uploads_by_url: Counter[str] = Counter()  # POSTs each upload URL received
            self.requests_by_method: Counter[str] = Counter()
            self.calls_by_method: Counter[str] = Counter()
            self.requests_by_token: dict[str, list[float]] = defaultdict(list)
            self.request_log: deque[tuple[float, str, str]] = deque(maxlen=LOG_LIMIT)
            # VK's people (for the consent page), who is "signed in" there, and VK ID itself.
            self.users: dict[int, str] = {}
            self.signed_in_user = DEMO_USER_ID
            self.vkid = VkIdServer(self)
            # Every method call with its parameters (calls inside execute too, token left out),
            # so tests can check what the client sent against VK's schema.
            self.call_log: deque[tuple[str, dict[str, str]]] = deque(maxlen=LOG_LIMIT)
            if self._seed:
                self._seed_demo()

    def _seed_demo(self) -> None:
        self.add_user(DEMO_USER_ID, DEMO_USER_NAME)
        self.add_group(
            DEMO_GROUP_ID, "Демо-магазин", screen_name="demo_shop", admins=(DEMO_USER_ID,)
        )
        self.add_group(
            DEMO_MARKET_OFF_GROUP_ID,
            "Демо-кафе без товаров",
            screen_name="demo_cafe",
            market_enabled=False,
            admins=(DEMO_USER_ID,),
        )
        self.add_group(
            DEMO_EDITOR_GROUP_ID,
            "Соседская пекарня",
            screen_name="demo_bakery",
            admins=(),
            editors=(DEMO_USER_ID,),
            group_type="group",
        )
        self.add_token(DEMO_USER_TOKEN, user_id=DEMO_USER_ID, scopes=("market", "photos", "groups"))
        self.add_token(
            DEMO_GROUP_TOKEN,
            user_id=0,
            kind="group",
            scopes=("market", "photos", "manage"),
            group_ids=(DEMO_GROUP_ID,),
        )

    # --- controls (also under /_control/<name>) -------------------------------------------------

    def add_token(
        self,
        token: str,
        *,
        user_id: int,
        kind: str = "user",
        scopes: tuple[str, ...] | list[str] = ("market", "photos"),
        group_ids: tuple[int, ...] | list[int] = (),
        expires_in: float | None = None,
    ) -> None:
        """A token VK knows; `expires_in` seconds from now it answers error 5 "expired"."""
        if kind not in ("user", "group"):
            raise ValueError("kind must be 'user' or 'group'")
        with self._lock:
            self.api.tokens[token] = Token(
                token=token,
                user_id=int(user_id),
                kind=kind,
                scopes=frozenset(scopes),
                group_ids=frozenset(int(g) for g in group_ids),
                expires_at=time.time() + expires_in if expires_in is not None else None,
            )

    def expire_token(self, token: str) -> None:
        """The token's hour is over: VK answers error 5 "access_token has expired"."""
        with self._lock:
            self.api.tokens[token].expires_at = time.time() - 1

    def add_user(self, user_id: int, name: str) -> None:
        """A VK person who may appear on the consent page."""
        with self._lock:
            self.users[int(user_id)] = name

    def sign_in(self, user_id: int) -> None:
        """Who the consent page shows as signed in to VK (preselected)."""
        with self._lock:
            if int(user_id) not in self.users:
                raise ValueError(f"no sandbox user {user_id}")
            self.signed_in_user = int(user_id)

    def register_app(
        self,
        client_id: str,
        name: str,
        *,
        redirect_uris: tuple[str, ...] | list[str] = (),
        secret: str = "",
        approved: tuple[str, ...] | list[str] | None = None,
    ) -> None:
        """An app at VK ID: its exact redirect addresses (none: any loopback one), its secret,
        and the rights VK approved for it (`market` needs VK's approval, docs/contracts/vk-market-api.md §2)."""
        with self._lock:
            self.vkid.register_app(
                client_id, name, redirect_uris=redirect_uris, secret=secret, approved=approved
            )

    def expire_access_tokens(self, user_id: int | None = None) -> int:
        """Every access token VK ID issued (to `user_id`) lapses now; refresh tokens stay."""
        with self._lock:
            return self.vkid.expire_access_tokens(user_id)

    def withdraw_access(self, user_id: int) -> None:
        """The person removes the app in VK: its access and refresh tokens stop working."""
        with self._lock:
            self.vkid.withdraw(user_id)

    def vkid_stats(self) -> dict:
        """How many consent-page, code and refresh requests VK ID served."""
        with self._lock:
            return dict(self.vkid.requests)

    def revoke_token(self, token: str) -> None:
        with self._lock:
            self.api.tokens[token].revoked = True

    def add_group(
        self,
        group_id: int,
        name: str,
        *,
        market_enabled: bool = True,
        admins: tuple[int, ...] | list[int] = (DEMO_USER_ID,),
        editors: tuple[int, ...] | list[int] = (),
        screen_name: str | None = None,
        group_type: str = "page",
    ) -> None:
        if group_type not in ("group", "page", "event"):
            raise ValueError("group_type must be 'group', 'page' or 'event'")
        with self._lock:
            self.api.groups[int(group_id)] = Group(
                id=int(group_id),
                name=name,
                screen_name=screen_name or f"club{group_id}",
                market_enabled=market_enabled,
                admins={int(a) for a in admins},
                editors={int(e) for e in editors},
                type=group_type,
            )

    def set_market_enabled(self, group_id: int, enabled: bool) -> None:
        with self._lock:
            self.api.groups[int(group_id)].market_enabled = bool(enabled)

    def add_item(self, group_id: int, **fields: Any) -> dict:
        """An item "made by hand" in VK; returns it as market.getById extended=1 would."""
        with self._lock:
            group = self.api.groups[int(group_id)]
            item = self.api.add_item(group, **fields)
            return self.api.item_json(group, item, extended=True, viewer=None)

    def edit_item(
        self,
        group_id: int,
        item_id: int,
        *,
        name: str | None = None,
        description: str | None = None,
        new_photo: bool = False,
        album_ids: list[int] | None = None,
    ) -> dict:
        """An item edited by a community administrator in VK's own interface (name,
        description, a new main photo, its albums), the way a merchant polishes an item that
        EvoSync published; returns it as market.getById extended=1 would. The API's
        market.edit does the same for name and description."""
        with self._lock:
            group = self.api.groups[int(group_id)]
            item = group.items[int(item_id)]
            if name is not None:
                item.title = name
            if description is not None:
                item.description = description
            if new_photo:
                photo = self.api.new_photo(group.owner_id, 800, 800)
                photo.item_id = item.id
                item.main_photo_id = photo.id
            if album_ids is not None:
                for album in group.albums.values():
                    if item.id in album.item_ids and album.id not in album_ids:
                        album.item_ids.remove(item.id)
                    elif item.id not in album.item_ids and album.id in album_ids:
                        album.item_ids.append(item.id)
            return self.api.item_json(group, item, extended=True, viewer=None)

    def add_album(self, group_id: int, title: str, **fields: Any) -> dict:
        with self._lock:
            group = self.api.groups[int(group_id)]
            return self.api.album_json(group, self.api.add_album(group, title, **fields))

    def generate_items(self, group_id: int, count: int, *, albums: int = 0) -> int:
        """`count` hand-made items (and `albums` albums sharing them out), for benchmarks."""
        with self._lock:
            group = self.api.groups[int(group_id)]
            album_ids = [self.api.add_album(group, f"Подборка {n + 1}").id for n in range(albums)]
            for n in range(count):
                self.api.add_item(
                    group,
                    title=f"Товар номер {n + 1}",
                    description=f"Описание товара номер {n + 1} для проверки.",
                    price=100 + n % 900,
                    sku=f"SKU-{n + 1:06d}",
                    album_ids=[album_ids[n % albums]] if albums else (),
                    with_photo=True,
                )
            return count

    def clone_group(self, source_group_id: int, group_id: int, name: str = "") -> int:
        """A new community holding a copy of another's albums and items, with the same ids and
        no photos, for benchmarks that need many published communities at once
        (bench/freshness.py); its tokens are added apart. Returns how many items it holds."""
        with self._lock:
            source = self.api.groups[int(source_group_id)]
            group = Group(
                id=int(group_id),
                name=name or f"club{group_id}",
                screen_name=f"club{group_id}",
                admins=set(source.admins),
                next_album_id=source.next_album_id,
                next_item_id=source.next_item_id,
            )
            for album in source.albums.values():
                group.albums[album.id] = replace(
                    album, owner_id=group.owner_id, photo_id=None, item_ids=list(album.item_ids)
                )
            for item in source.items.values():
                group.items[item.id] = replace(
                    item, owner_id=group.owner_id, main_photo_id=None, photo_ids=[]
                )
            self.api.groups[group.id] = group
            return len(group.items)

    def export_group(self, group_id: int) -> dict:
        """A community's albums, items and their photos' records (no picture bytes), as JSON,
        for `import_group` in another sandbox: a benchmark set up once restores its published
        communities in a new sandbox process (bench/freshness.py)."""
        with self._lock:
            group = self.api.groups[int(group_id)]
            photo_ids = {
                photo_id
                for item in group.items.values()
                for photo_id in (item.main_photo_id, *item.photo_ids)
                if photo_id is not None
            }
            return {
                "id": group.id,
                "name": group.name,
                "screen_name": group.screen_name,
                "admins": sorted(group.admins),
                "next_album_id": group.next_album_id,
                "next_item_id": group.next_item_id,
                "albums": [asdict(album) for album in group.albums.values()],
                "items": [asdict(item) for item in group.items.values()],
                "photos": [
                    {**asdict(self.api.photos[photo_id]), "thumb": ""}
                    for photo_id in sorted(photo_ids)
                    if photo_id in self.api.photos
                ],
            }

    def import_group(self, data: dict) -> int:
        """A community as `export_group` gave it, with the same ids (replacing one of that id).
        Returns how many items it holds."""
        with self._lock:
            group = Group(
                id=int(data["id"]),
                name=data["name"],
                screen_name=data["screen_name"],
                admins=set(data["admins"]),
                next_album_id=int(data["next_album_id"]),
                next_item_id=int(data["next_item_id"]),
            )
            for row in data["albums"]:
                group.albums[int(row["id"])] = Album(**row)
            for row in data["items"]:
                group.items[int(row["id"])] = Item(**row)
            for row in data["photos"]:
                photo = Photo(**{**row, "thumb": b""})
                self.api.photos[photo.id] = photo
                self.api.next_photo_id = max(self.api.next_photo_id, photo.id + 1)
            self.api.groups[group.id] = group
            return len(group.items)

    def edits(self, start: int = 0) -> dict:
        """The item edits from position `start` of the log: [time, group id, item id, price in
        kopecks], and the position to ask from next."""
        with self._lock:
            log = self.api.edit_log
            return {"edits": log[int(start) :], "next": len(log)}

    def items(self, group_id: int) -> list[dict]:
        """Every item of the community (removed ones too), as extended JSON."""
        with self._lock:
            group = self.api.groups[int(group_id)]
            return [
                self.api.item_json(group, item, extended=True, viewer=None)
                for item in sorted(group.items.values(), key=lambda i: i.id)
            ]

    def albums(self, group_id: int) -> list[dict]:
        with self._lock:
            group = self.api.groups[int(group_id)]
            return [self.api.album_json(group, album) for album in group.albums.values()]

    def properties(self, group_id: int) -> dict[str, list[str]]:
        """The community's properties: {title: [variant titles, sorted]}."""
        with self._lock:
            group = self.api.groups[int(group_id)]
            return {p.title: sorted(p.variants.values()) for p in group.properties.values()}

    def photo(self, photo_id: int) -> dict | None:
        """A photo's state: owner, size, and the item it belongs to (None while free)."""
        with self._lock:
            photo = self.api.photos.get(int(photo_id))
            if photo is None:
                return None
            return {
                "id": photo.id,
                "owner_id": photo.owner_id,
                "width": photo.width,
                "height": photo.height,
                "item_id": photo.item_id,
                "sha256": photo.sha256,
            }

    def set_rate_limit(self, n: float) -> None:
        with self._lock:
            self.rate_limit_per_second = n
            self._windows.clear()

    def set_photo_upload(
        self,
        *,
        bulk: bool = True,
        url_posts: int | None = None,
        bulk_max_files: int | None = None,
    ) -> None:
        """How the upload server behaves where docs/contracts/vk-market-api.md §13 is silent: `bulk` off
        plays a VK without bulk uploads (`bulk=1` refused with error 100,
        market.saveProductPhotoBulk unknown: 3); `url_posts` is how many POSTs one upload URL
        takes (None: any number); `bulk_max_files` caps the files of one bulk POST."""
        with self._lock:
            self.api.bulk_photos = bool(bulk)
            self.api.upload_url_posts = None if url_posts is None else int(url_posts)
            self.api.bulk_max_files = None if bulk_max_files is None else int(bulk_max_files)

    def expire_upload_urls(self) -> int:
        """Every upload URL handed out so far stops working, and uploads not yet saved from
        them are refused when saved (VK rotated its upload servers); returns how many."""
        with self._lock:
            for url in self.api.upload_urls.values():
                url.expired = True
            return len(self.api.upload_urls)

    def set_require_main_photo(self, required: bool) -> None:
        with self._lock:
            self.api.require_main_photo = bool(required)

    def fail(
        self,
        code: int,
        *,
        method: str | None = None,
        count: int | None = None,
        captcha_sid: str | None = None,
        message: str = "",
    ) -> None:
        """The next `count` matching requests (all while None) answer error `code`.

        `method=None` matches every request; a method name matches that method, also as a call
        inside `execute` (then it fails in `execute_errors`, not the whole request). A code of
        500 or more is an HTTP status instead (a failing gateway, no VK envelope)."""
        with self._lock:
            sid = captcha_sid or (str(secrets.randbelow(10**12)) if code == 14 else "")
            self._failures.append(_Failure(int(code), method, count, sid, message))

    def slow(
        self,
        seconds: float,
        *,
        method: str | None = None,
        count: int | None = None,
        skip: int = 0,
    ) -> None:
        """Matching requests are processed, then answered `seconds` late (a lost answer).

        A method name matches that method or an `execute` that called it; the first `skip`
        matching requests are answered on time, so a test can hold back exactly the Nth one."""
        with self._lock:
            self._slows.append(_Slow(float(seconds), method, count, int(skip)))

    def slows_pending(self) -> int:
        """How many `slow` rules still wait for a request to hold back."""
        with self._lock:
            return len(self._slows)

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()
            self._slows.clear()

    def stats(self) -> dict:
        with self._lock:
            return {
                "requests_by_method": dict(self.requests_by_method),
                "calls_by_method": dict(self.calls_by_method),
                "requests_by_token": {k: list(v) for k, v in self.requests_by_token.items()},
                "refused_by_token": dict(self.refused_by_token),
                "uploads_by_url": dict(self.uploads_by_url),
            }

    def refused(self, token: str) -> int:
        """How many requests of `token` were refused with error 6 since the last reset."""
        with self._lock:
            return self.refused_by_token[token]

    def max_requests_in_window(self, token: str | None = None, window: float = 1.0) -> int:
        """The most API requests one token (or every token, if None) sent in any `window` s."""
        with self._lock:
            if token is None:
                series = [list(times) for times in self.requests_by_token.values()]
            else:
                series = [list(self.requests_by_token.get(token, []))]
        return max((_max_in_window(sorted(times), window) for times in series), default=0)

    _CONTROLS = (
        "add_token",
        "expire_token",
        "add_user",
        "sign_in",
        "register_app",
        "expire_access_tokens",
        "withdraw_access",
        "vkid_stats",
        "revoke_token",
        "add_group",
        "set_market_enabled",
        "add_item",
        "edit_item",
        "add_album",
        "generate_items",
        "clone_group",
        "export_group",
        "import_group",
        "edits",
        "items",
        "albums",
        "photo",
        "set_rate_limit",
        "set_require_main_photo",
        "set_photo_upload",
        "expire_upload_urls",
        "fail",
        "slow",
        "clear_failures",
        "stats",
        "max_requests_in_window",
        "refused",
        "reset",
    )

    # --- WSGI ------------------------------------------------------------------------------------

    def wsgi(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        try:
            if path.startswith("/method/"):
                body = self._api_request(environ, path[8:])
                if isinstance(body, _HttpFailure):
                    return self._gateway_error(start_response, body.status)
                return self._json(start_response, body)
            if path.startswith("/upload/"):
                return self._upload_request(environ, start_response, path[8:])
            if path.startswith("/photo/"):
                return self._photo(start_response, path[7:])
            if path.startswith("/_control/"):
                return self._control(environ, start_response, path[10:])
            if path.startswith("/id/"):
                return self._vkid_request(environ, start_response, path[3:])
        except _BadRequest as exc:
            return self._json(start_response, {"error": str(exc)}, status="400 Bad Request")
        return self._json(start_response, {"error": "unknown path"}, status="404 Not Found")

    def _json(self, start_response, body: Any, status: str = "200 OK"):
        data = json.dumps(body, ensure_ascii=False).encode()
        start_response(
            status,
            [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Content-Length", str(len(data))),
            ],
        )
        return [data]

    def _read_body(self, environ) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            raise _BadRequest("request body too large")
        return environ["wsgi.input"].read(length) if length else b""

    def _read_params(self, environ) -> dict[str, str]:
        params = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        body = self._read_body(environ)
        content_type = environ.get("CONTENT_TYPE", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        elif content_type.startswith("multipart/form-data"):
            for name, (_filename, value) in parse_multipart(content_type, body).items():
                params[name] = value.decode("utf-8", "replace")
        # application/json is not read at all, as VK does not (docs/contracts/vk-market-api.md §1).
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if auth.lower().startswith("bearer ") and "access_token" not in params:
            params["access_token"] = auth[7:].strip()
        return params

    # --- the API -----------------------------------------------------------------------------

    def _api_request(self, environ, method: str) -> dict:
        params = self._read_params(environ)
        token_text = params.pop("access_token", "")
        now = self.clock() if self.clock is not None else environ.get(RECEIVED_AT) or time.time()
        with self._lock:
            self.requests_by_method[method] += 1
            self.requests_by_token[token_text].append(now)
            self.request_log.append((now, method, token_text))
            http_failure = self._take_http_failure(method)
            self._called_inside = set()  # filled by `execute`, read under the same lock
            body = http_failure or self._api_answer(method, params, token_text, now)
            delay = self._take_slow({method, *self._called_inside})
        if delay:
            time.sleep(delay)
        return body

    def _api_answer(self, method: str, params: dict[str, str], token_text: str, now: float) -> dict:
        echo = [{"key": "method", "value": method}, {"key": "oauth", "value": "1"}]
        echo += [{"key": k, "value": v} for k, v in params.items() if k != "access_token"]
        try:
            if not params.get("v"):
                raise ApiError(8, "v (version) is required")
            token = self._authorize(token_text)
            self._check_rate(token, now)
            self._check_failure(method, params, top_level=True)
            self.calls_by_method[method] += 1
            self.call_log.append((method, dict(params)))
            if method == "execute":
                return self._execute(token, params)
            return {"response": self.api.call(token, method, params)}
        except ApiError as exc:
            error = {"error_code": exc.code, "error_msg": exc.message, "request_params": echo}
            error.update(exc.extra)
            return {"error": error}

    def _authorize(self, token_text: str) -> Token:
        if not token_text:
            raise ApiError(5, "no access_token passed.")
        token = self.api.tokens.get(token_text)
        if token is None:
            raise ApiError(5, "invalid access_token (4).")
        if token.revoked or (token.expires_at is not None and token.expires_at <= time.time()):
            raise ApiError(5, "access_token has expired.")
        return token

    def _check_rate(self, token: Token, now: float) -> None:
        limit = (
            self.rate_limit_per_second if token.kind == "user" else self.group_rate_limit_per_second
        )
        window = self._windows[token.token]
        # Requests older than this can no longer share a window with one arriving now, even
        # one that a slow thread hands in a little out of order.
        del window[: bisect.bisect_right(window, now - 5.0)]
        # Every one-second window (start, start + 1] holding `now` must keep at most `limit`.
        nearby = window[
            bisect.bisect_right(window, now - 1.0) : bisect.bisect_left(window, now + 1.0)
        ]
        if _max_in_window(sorted([*nearby, now]), 1.0) > limit:
            self.refused_by_token[token.token] += 1
            raise ApiError(6)
        bisect.insort(window, now)

    def _check_failure(self, method: str, params: dict[str, str], *, top_level: bool) -> None:
        for failure in self._failures:
            if failure.code >= 500:
                continue  # an HTTP failure, handled before the API runs
            if failure.method is None and not top_level:
                continue
            if failure.method is not None and failure.method != method:
                continue
            solved = params.get("captcha_sid") in self._captchas and params.get("captcha_key")
            if failure.code == 14 and solved:
                continue
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
            extra: dict[str, Any] = {}
            if failure.code == 14:
                self._captchas.add(failure.captcha_sid)
                extra = {
                    "captcha_sid": failure.captcha_sid,
                    "captcha_img": f"{self.public_url}/captcha.php?sid={failure.captcha_sid}",
                }
            raise ApiError(failure.code, failure.message, **extra)

    def _take_http_failure(self, method: str) -> _HttpFailure | None:
        for failure in self._failures:
            if failure.code >= 500 and failure.method in (None, method):
                if failure.remaining is not None:
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self._failures.remove(failure)
                return _HttpFailure(failure.code)
        return None

    def _gateway_error(self, start_response, status: int):
        data = b"<html><body><h1>Bad gateway</h1></body></html>"
        start_response(
            f"{status} Gateway Error",
            [("Content-Type", "text/html"), ("Content-Length", str(len(data)))],
        )
        return [data]

    def _take_slow(self, methods: set[str]) -> float:
        for slow in self._slows:
            if slow.method is None or slow.method in methods:
                if slow.skip > 0:
                    slow.skip -= 1
                    return 0.0
                if slow.remaining is not None:
                    slow.remaining -= 1
                    if slow.remaining <= 0:
                        self._slows.remove(slow)
                return slow.seconds
        return 0.0

    def _execute(self, token: Token, params: dict[str, str]) -> dict:
        errors: list[dict] = []

        def api(inner: str, inner_params: dict[str, str]) -> Any:
            self.calls_by_method[inner] += 1
            self._called_inside.add(inner)
            self.call_log.append((inner, dict(inner_params)))
            try:
                self._check_failure(inner, inner_params, top_level=False)
                if inner == "execute":
                    raise ApiError(13, "execute cannot call execute")
                return self.api.call(token, inner, inner_params)
            except ApiError as exc:
                errors.append({"method": inner, "error_code": exc.code, "error_msg": exc.message})
                return False

        code = params.get("code", "")
        try:
            value = vkscript.run_script(code, api)
        except vkscript.CompileError as exc:
            raise ApiError(12, str(exc)) from None
        except vkscript.ScriptRuntimeError as exc:
            raise ApiError(13, str(exc)) from None
        body: dict[str, Any] = {"response": value}
        if errors:
            body["execute_errors"] = errors
        return body

    # --- VK ID ------------------------------------------------------------------------------------

    def _vkid_request(self, environ, start_response, path: str):
        method = environ.get("REQUEST_METHOD", "GET")
        params = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        if method == "POST":
            body = self._read_body(environ)
            if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
                params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        with self._lock:
            status, headers, data = self.vkid.handle(method, path, params)
        start_response(status, headers)
        return [data]

    # --- upload server, photos, controls ----------------------------------------------------------

    def _upload_request(self, environ, start_response, key: str):
        if environ.get("REQUEST_METHOD") != "POST":
            return self._json(
                start_response, {"error": "POST a file"}, status="405 Method Not Allowed"
            )
        body = self._read_body(environ)
        fields = parse_multipart(environ.get("CONTENT_TYPE", ""), body)
        checked = check_files(fields)  # outside the lock: the API goes on meanwhile
        with self._lock:
            self.uploads_by_url[key] += 1
            answer = handle_upload(self.api, key, fields, checked)
        return self._json(start_response, answer)

    def _photo(self, start_response, name: str):
        # One small JPEG per photo serves every size; photos without one show a grey square.
        photo_id = name.split(".", 1)[0]
        with self._lock:
            photo = self.api.photos.get(int(photo_id)) if photo_id.isdigit() else None
            data = photo.thumb if photo is not None and photo.thumb else _placeholder_jpeg()
        start_response(
            "200 OK", [("Content-Type", "image/jpeg"), ("Content-Length", str(len(data)))]
        )
        return [data]

    def _control(self, environ, start_response, action: str):
        if action not in self._CONTROLS or environ.get("REQUEST_METHOD") != "POST":
            return self._json(start_response, {"error": "unknown control"}, status="404 Not Found")
        raw = self._read_body(environ)
        try:
            kwargs = json.loads(raw or b"{}")
        except ValueError:
            raise _BadRequest("the body must be a JSON object") from None
        if not isinstance(kwargs, dict):
            raise _BadRequest("the body must be a JSON object")
        try:
            result = getattr(self, action)(**kwargs)
        except (TypeError, ValueError, KeyError) as exc:
            raise _BadRequest(f"{action}: {exc!r}") from None
        return self._json(start_response, {"result": result})


class _BadRequest(Exception):
    pass


@dataclass
class _HttpFailure:
    status: int


def _max_in_window(times: list[float], window: float) -> int:
    best = start = 0
    for end, stamp in enumerate(times):
        while stamp - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


_PLACEHOLDER: list[bytes] = []


def _placeholder_jpeg() -> bytes:
    if not _PLACEHOLDER:
        buffer = io.BytesIO()
        Image.new("RGB", (200, 200), (215, 220, 226)).save(buffer, "JPEG", quality=70)
        _PLACEHOLDER.append(buffer.getvalue())
    return _PLACEHOLDER[0]
