"""The Evotor cloud API v2 emulator: a plain, thread-safe WSGI application.

Served by `sandbox.server.SandboxServer` under `/evotor`, so the paths below are the API's own
(`/stores`, `/stores/{id}/products`, ...). It follows docs/contracts/evotor-api.md §3-§6 and the emulator
recommendations of §11:

* lists answer `{"items": [...], "paging": {"next_cursor": "..."}}`, and `"paging": {}` on the
  last page; 1000 items a page unless `limit` (1..1000) asks for fewer;
* the cursor is opaque and carries the first request's parameters; `since` (Unix ms, compared
  with `updated_at`, inclusive) counts only on a request without a cursor;
* `null` is never sent, absent optional fields are omitted, timestamps look like
  `2018-09-11T16:18:35.397+0000`;
* the cloud token is accepted as `Authorization: Bearer <t>` (scheme case-insensitive, or no
  scheme) or as a raw `X-Authorization: <t>` (§10.1); 401 otherwise;
* the third demo store answers 402 on its store-scoped paths (§6.1, unverified 402).

Tests drive failures and catalog changes through the Python methods; an out-of-process sandbox
(the demo, browser tests) takes the same calls as JSON POSTs to `/_control/<method>`.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import logging
import random
import re
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from urllib.parse import parse_qs

from sandbox.evotor.demo import DEMO_TOKEN, DEMO_USER_ID, build_demo, make_store_id
from sandbox.evotor.events import EventLog, till_change, till_page
from sandbox.evotor.generated import GeneratedCatalog, parse_image_id
from sandbox.evotor.images import SIZE, render_png
from sandbox.evotor.state import StoreState, Table

logger = logging.getLogger(__name__)

PAGE_SIZE = 1000
CONTENT_TYPE = "application/vnd.evotor.v2+json;charset=UTF-8"
NUMERIC_FIELDS = {"price", "cost_price", "quantity", "alcohol_by_volume", "tare_volume"}
FAILURE_MODES = {"401", "402", "403", "404", "429", "500", "503", "malformed", "unexpected", "slow"}
_IMAGE_NAMESPACE = uuid.UUID("5b0c4b5e-8f6f-4d44-9a55-6f1b0b0e7a11")

_EVENTS_PATH = re.compile(r"^/api/apps/(?P<app>[^/]+)/events/?$")
# (kind, pattern) in the order they are tried; `sid`, `gid`, `pid`, `iid` name path parts.
ROUTES = [
    ("stores", re.compile(r"^/stores/?$")),
    ("store", re.compile(r"^/stores/(?P<sid>[^/]+)$")),
    ("groups", re.compile(r"^/stores/(?P<sid>[^/]+)/product-groups/?$")),
    ("group", re.compile(r"^/stores/(?P<sid>[^/]+)/product-groups/(?P<gid>[^/]+)$")),
    ("products", re.compile(r"^/stores/(?P<sid>[^/]+)/products/?$")),
    ("product", re.compile(r"^/stores/(?P<sid>[^/]+)/products/(?P<pid>[^/]+)$")),
    ("images", re.compile(r"^/stores/(?P<sid>[^/]+)/products/(?P<pid>[^/]+)/images/?$")),
    ("image_file", re.compile(r"^/images/(?P<iid>[0-9a-fA-F-]+)\.png$")),
    ("v1_stores", re.compile(r"^/api/v1/inventories/stores/search/?$")),
]


def _route(path: str) -> tuple[str, re.Match] | None:
    for kind, pattern in ROUTES:
        match = pattern.match(path)
        if match:
            return kind, match
    return None


def format_ts(ms: int) -> str:
    """Evotor's timestamp: milliseconds and an offset without a colon (§4)."""
    moment = datetime.fromtimestamp(ms // 1000, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}+0000"


def _json_default(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=_json_default).encode()


def emit(row: dict) -> dict:
    """A stored row as the API sends it: no nulls, timestamps as text."""
    out = {}
    for key, value in row.items():
        if value is None:
            continue
        if key in ("created_at", "updated_at") and isinstance(value, int):
            value = format_ts(value)
        elif isinstance(value, list):
            value = [v for v in value if v is not None]
        out[key] = value
    return out


@dataclass
class Failure:
    mode: str
    count: int | None = None
    store_id: str | None = None
    path: str | None = None
    delay: float = 2.0
    reset: int = 1

    def matches(self, path: str, store_id: str | None) -> bool:
        if self.store_id is not None and store_id != self.store_id:
            return False
        if self.path is not None:
            return path.startswith(self.path)
        # "App not installed / not paid" only ever concerns one store's resources.
        return not (self.mode in ("402", "403") and store_id is None)


class _Response(Exception):
    """Raised inside a handler to answer at once."""

    def __init__(self, status: int, body, headers: list[tuple[str, str]] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or []


def _error(status: int, code: str, message: str, **extra) -> _Response:
    # No source shows the body of a v2 401/402/403/404/429 (§6.1); this shape follows the 400s.
    return _Response(status, {"code": code, "message": message, **extra})


def _to_decimal(value) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a number: {value!r}") from exc


class EvotorSandbox:
    """The stateful emulator; every public method is safe to call from any thread."""

    def __init__(self, public_url: str, seed: bool = True):
        self.public_url = public_url.rstrip("/")
        self._seed = seed
        self._lock = threading.RLock()
        # Outlives `reset`: the push target is configuration, not catalog state.
        self.events = EventLog()
        self.reset()

    # --- state ---------------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the seeded demo (or to nothing at all with seed=False), failures cleared."""
        with self._lock:
            self._tokens: dict[str, str] = {}
            self._stores: dict[str, StoreState] = {}
            self._image_index: dict[str, tuple[str, str]] = {}
            # Images a test gave its own file (set_image_file); the others are rendered.
            self._image_files: dict[str, tuple[bytes, int, int]] = {}
            self._failures: list[Failure] = []
            self._requests_by_kind: Counter[str] = Counter()
            self._request_log: deque[dict] = deque(maxlen=1000)
            self._last_ms = 0
            self._id_counter = 0
            self.events.reset()
            if self._seed:
                self._load_demo()

    def _load_demo(self) -> None:
        self._tokens[DEMO_TOKEN] = DEMO_USER_ID
        for demo in build_demo():
            store = StoreState(
                id=demo.id,
                name=demo.name,
                address=demo.address,
                user_id=DEMO_USER_ID,
                created_at=demo.created_at,
                updated_at=demo.updated_at,
                status=demo.status,
            )
            for row in demo.groups:
                store.groups.add(row)
            with_image = 0
            for row in demo.products:
                store.products.add(row)
                if row["id"] in demo.images:
                    self._attach_image(store, row)
                    with_image += 1
                    if with_image % 4 == 0:  # every fourth pictured product has three
                        store.extra_images[row["id"]] = [
                            self._demo_extra_image(store, row, k) for k in (1, 2)
                        ]
            self._stores[store.id] = store

    def _demo_extra_image(self, store: StoreState, product: dict, k: int) -> dict:
        image_id = str(uuid.uuid5(_IMAGE_NAMESPACE, f"{store.id}/{product['id']}/{k}"))
        self._image_index[image_id] = (store.id, product["id"])
        return {
            "id": image_id,
            "product_id": product["id"],
            "store_id": store.id,
            "user_id": store.user_id,
            "created_at": product["created_at"],
            "updated_at": product["updated_at"],
        }

    def _attach_image(self, store: StoreState, product: dict) -> dict:
        image_id = str(uuid.uuid5(_IMAGE_NAMESPACE, f"{store.id}/{product['id']}"))
        image = {
            "id": image_id,
            "product_id": product["id"],
            "store_id": store.id,
            "user_id": store.user_id,
            "created_at": product["created_at"],
            "updated_at": product["updated_at"],
        }
        store.images[product["id"]] = image
        self._image_index[image_id] = (store.id, product["id"])
        return image

    def _now_ms(self) -> int:
        """A clock that never repeats, so every change gets a later `updated_at`."""
        self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
        return self._last_ms

    def _new_uuid(self) -> str:
        self._id_counter += 1
        return str(uuid.uuid5(_IMAGE_NAMESPACE, f"new/{self._id_counter}"))

    def _store(self, store_id: str) -> StoreState:
        try:
            return self._stores[store_id]
        except KeyError:
            raise KeyError(f"no store {store_id}") from None

    def _event(self, kind: str, action: str, row: dict) -> dict:
        """Record the change as an event (inside the lock); `_push` delivers it outside."""
        # Stored as the JSON the API would send (numbers as Evotor writes them), so the push
        # and the events API serialise it without our Decimal encoder.
        payload = json.loads(dumps(emit(row)))
        return self.events.record(kind, action, payload, timestamp=row["updated_at"])

    def _removal_event(self, kind: str, store: StoreState, row_id: str) -> dict:
        payload = {"id": row_id, "store_id": store.id, "user_id": store.user_id}
        return self.events.record(kind, "removed", payload, timestamp=self._now_ms())

    def _push(self, event: dict | None) -> None:
        if event is not None:
            self.events.push(event)

    def all_store_ids(self) -> list[str]:
        with self._lock:
            return list(self._stores)

    def store_name(self, store_id: str) -> str:
        with self._lock:
            return self._store(store_id).name

    def has_image(self, store_id: str, product_id: str) -> bool:
        with self._lock:
            return self._store(store_id).image_for(product_id) is not None

    def images(self, store_id: str, product_id: str) -> list[dict]:
        """A product's pictures as the image list answers them (main first)."""
        with self._lock:
            return [dict(image) for image in self._store(store_id).images_for(product_id)]

    # --- test controls -------------------------------------------------------------------------
    def add_token(self, token: str, user_id: str = DEMO_USER_ID) -> None:
        with self._lock:
            self._tokens[token] = user_id

    def remove_token(self, token: str) -> None:
        """The merchant revoked the app: the token answers 401 from now on."""
        with self._lock:
            self._tokens.pop(token, None)

    def store_ids(self, user_id: str = DEMO_USER_ID) -> list[str]:
        with self._lock:
            return [s.id for s in self._stores.values() if s.user_id == user_id]

    def add_store(
        self,
        *,
        name: str,
        address: str = "",
        user_id: str = DEMO_USER_ID,
        store_id: str | None = None,
        status: int | None = None,
    ) -> str:
        with self._lock:
            now = self._now_ms()
            store_id = store_id or make_store_id(random.Random(self._id_counter + 7), "20240101")
            self._id_counter += 1
            self._stores[store_id] = StoreState(
                id=store_id,
                name=name,
                address=address,
                user_id=user_id,
                created_at=now,
                updated_at=now,
                status=status,
            )
            return store_id

    def set_store_status(self, store_id: str, status: int | None) -> None:
        """Make every store-scoped path of this store answer `status` (402/403), or heal it."""
        with self._lock:
            self._store(store_id).status = status

    def products(self, store_id: str) -> list[dict]:
        """Every product of a store as the API would send it (for assertions)."""
        with self._lock:
            rows, _ = self._store(store_id).products.page(0, since=None, limit=10**9)
            return [emit(row) for row in rows]

    def groups(self, store_id: str) -> list[dict]:
        with self._lock:
            rows, _ = self._store(store_id).groups.page(0, since=None, limit=10**9)
            return [emit(row) for row in rows]

    def product(self, store_id: str, product_id: str) -> dict | None:
        with self._lock:
            row = self._store(store_id).products.get(product_id)
            return None if row is None else emit(row)

    @staticmethod
    def _apply_fields(row: dict, fields: dict) -> None:
        for key, value in fields.items():
            if key in ("id", "store_id", "user_id"):
                raise ValueError(f"{key} cannot be changed")
            if value is None:
                row.pop(key, None)
            elif key in NUMERIC_FIELDS:
                row[key] = _to_decimal(value)
            elif key == "barcodes":
                row[key] = [str(v) for v in value]
            else:
                row[key] = value

    def set_product(self, store_id: str, product_id: str, **fields) -> dict:
        """Change a product as if at the till; `updated_at` moves forward. None removes a field.

        `image=True/False` adds or removes the product's picture.
        """
        with self._lock:
            store = self._store(store_id)
            current = store.products.get(product_id)
            if current is None:
                raise KeyError(f"no product {product_id} in store {store_id}")
            row = dict(current)
            image = fields.pop("image", None)
            self._apply_fields(row, fields)
            row["updated_at"] = self._now_ms()
            store.products.replace(row)
            if image is True and store.image_for(product_id) is None:
                self._attach_image(store, row)
            elif image is False:
                store.images[product_id] = None
            event = self._event("Product", "updated", row)
        self._push(event)
        return emit(row)

    def add_product(
        self,
        store_id: str,
        *,
        name: str,
        price=0,
        product_id: str | None = None,
        image: bool = False,
        extra_images: int = 0,
        **fields,
    ) -> dict:
        """A new product at the till (type NORMAL, 'шт', NO_VAT unless given); `image` gives
        it a picture, `extra_images` that many more after it (Evotor's order)."""
        with self._lock:
            store = self._store(store_id)
            now = self._now_ms()
            row = {
                "id": product_id or self._new_uuid(),
                "type": "NORMAL",
                "name": name,
                "code": "",
                "price": _to_decimal(price),
                "measure_name": "шт",
                "tax": "NO_VAT",
                "allow_to_sell": True,
                "description": "",
                "article_number": "",
                "barcodes": [],
                "store_id": store.id,
                "user_id": store.user_id,
                "created_at": now,
                "updated_at": now,
            }
            self._apply_fields(row, fields)
            store.products.add(row)
            if image or extra_images:
                self._attach_image(store, row)
            if extra_images:
                store.extra_images[row["id"]] = [
                    self._new_image(store, row["id"]) for _ in range(extra_images)
                ]
            event = self._event("Product", "created", row)
        self._push(event)
        return emit(row)

    def remove_product(self, store_id: str, product_id: str) -> bool:
        """Delete a product at the till: it simply stops appearing in the list (§4)."""
        with self._lock:
            store = self._store(store_id)
            store.images.pop(product_id, None)
            store.extra_images.pop(product_id, None)
            removed = store.products.remove(product_id)
            event = self._removal_event("Product", store, product_id) if removed else None
        self._push(event)
        return removed

    def add_group(
        self, store_id: str, *, name: str, parent_id: str | None = None, group_id=None, **fields
    ) -> dict:
        with self._lock:
            store = self._store(store_id)
            now = self._now_ms()
            row = {
                "id": group_id or self._new_uuid(),
                "name": name,
                "parent_id": parent_id,
                "store_id": store.id,
                "user_id": store.user_id,
                "created_at": now,
                "updated_at": now,
            }
            self._apply_fields(row, fields)
            store.groups.add(row)
            event = self._event("ProductGroup", "created", row)
        self._push(event)
        return emit(row)

    def set_group(self, store_id: str, group_id: str, **fields) -> dict:
        with self._lock:
            store = self._store(store_id)
            current = store.groups.get(group_id)
            if current is None:
                raise KeyError(f"no group {group_id} in store {store_id}")
            row = dict(current)
            self._apply_fields(row, fields)
            row["updated_at"] = self._now_ms()
            store.groups.replace(row)
            event = self._event("ProductGroup", "updated", row)
        self._push(event)
        return emit(row)

    def _new_image(self, store: StoreState, product_id: str) -> dict:
        """A picture with a new id (inside the lock); the caller puts it in place."""
        now = self._now_ms()
        image = {
            "id": self._new_uuid(),
            "product_id": product_id,
            "store_id": store.id,
            "user_id": store.user_id,
            "created_at": now,
            "updated_at": now,
        }
        self._image_index[image["id"]] = (store.id, product_id)
        return image

    def add_image(self, store_id: str, product_id: str) -> dict:
        """One more picture after the product's others (a `ProductImage` created event)."""
        with self._lock:
            store = self._store(store_id)
            if store.products.get(product_id) is None:
                raise KeyError(f"no product {product_id} in store {store_id}")
            image = self._new_image(store, product_id)
            if store.image_for(product_id) is None:
                store.images[product_id] = image
            else:
                store.images.setdefault(product_id, store.image_for(product_id))
                store.extra_images.setdefault(product_id, []).append(image)
            payload = {
                "id": image["id"],
                "product_id": product_id,
                "store_id": store.id,
                "user_id": store.user_id,
            }
            event = self.events.record(
                "ProductImage", "created", payload, timestamp=image["created_at"]
            )
        self._push(event)
        return image

    def replace_image(self, store_id: str, product_id: str) -> dict:
        """Replace a product's picture at the till: the old one is removed, a new one (a new
        id, another drawing) created, and Evotor announces it with `ProductImage` events only:
        the product's own payload and `updated_at` stay as they were (§7.5)."""
        with self._lock:
            store = self._store(store_id)
            row = store.products.get(product_id)
            if row is None:
                raise KeyError(f"no product {product_id} in store {store_id}")
            old = store.image_for(product_id)
            image = self._new_image(store, product_id)
            now = image["created_at"]
            store.images[product_id] = image
            events = []
            for action, picture in (("removed", old), ("created", image)):
                if picture is None:
                    continue
                payload = {
                    "id": picture["id"],
                    "product_id": product_id,
                    "store_id": store.id,
                    "user_id": store.user_id,
                }
                events.append(self.events.record("ProductImage", action, payload, timestamp=now))
        for event in events:
            self._push(event)
        return image

    def set_image_file(
        self, store_id: str, product_id: str, data: bytes, *, width: int, height: int
    ) -> dict:
        """Give a product a picture with this file (e.g. a 40000×40 strip) instead of the
        rendered 300×300 one; `width`/`height` are what the image list's `meta` says."""
        with self._lock:
            store = self._store(store_id)
            row = store.products.get(product_id)
            if row is None:
                raise KeyError(f"no product {product_id} in store {store_id}")
            image = store.image_for(product_id) or self._attach_image(store, row)
            self._image_files[image["id"]] = (bytes(data), int(width), int(height))
            return image

    def remove_group(self, store_id: str, group_id: str) -> bool:
        with self._lock:
            store = self._store(store_id)
            removed = store.groups.remove(group_id)
            event = self._removal_event("ProductGroup", store, group_id) if removed else None
        self._push(event)
        return removed

    def fail(
        self,
        mode: str,
        *,
        count: int | None = None,
        store_id: str | None = None,
        path: str | None = None,
        delay: float | None = None,
        reset: int | None = None,
    ) -> None:
        """Make matching API requests fail.

        mode: "401", "402", "403", "404", "429" (with `X-RateLimit-*`; `reset` seconds),
        "500"/"503", "malformed" (a 200 with broken JSON), "unexpected" (a 200 with JSON of the
        wrong shape), "slow" (answers after `delay` seconds). `count` limits how many requests
        fail (None: until `clear_failures`); `store_id` and `path` (a prefix, e.g.
        "/stores/ID/products") narrow which requests fail. 402/403 without a path touch only
        store-scoped paths.
        """
        mode = str(mode)
        if mode not in FAILURE_MODES:
            raise ValueError(f"unknown failure mode {mode!r}")
        with self._lock:
            self._failures.append(
                Failure(
                    mode=mode,
                    count=count,
                    store_id=store_id,
                    path=path,
                    delay=2.0 if delay is None else float(delay),
                    reset=1 if reset is None else int(reset),
                )
            )

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def generate(
        self,
        products: int = 10_000,
        stores: int = 1,
        *,
        user_id: str = DEMO_USER_ID,
        photos_per_product: int | None = None,
        modification_groups: int = 0,
        first_index: int = 0,
        content_of: int | None = None,
    ) -> list[str]:
        """Replace the user's stores with `stores` generated ones of `products` products each;
        `photos_per_product` gives every product that many pictures (else a third have one,
        every other of those three); `modification_groups` makes the first products a T-shirt
        in S, M and L each, that many modification groups (§5.3 of the Evotor notes).

        Products are derived from their position on demand (see generated.py); ids of store
        number k are `7E57…` GUIDs. The stores are numbered from `first_index`, so several
        users can each have generated stores of their own (bench/freshness.py makes one per
        merchant); `content_of` gives them the names, prices and stock of the store of that
        number instead of their own. Returns the new store ids.
        """
        with self._lock:
            for store_id in [s.id for s in self._stores.values() if s.user_id == user_id]:
                del self._stores[store_id]
            self._tokens.setdefault(DEMO_TOKEN, DEMO_USER_ID)
            created = []
            for index in range(first_index, first_index + stores):
                store_id = f"20240101-7E57-{index:04X}-8000-{index:012X}"
                catalog = GeneratedCatalog(
                    store_id=store_id,
                    store_index=index,
                    products=products,
                    user_id=user_id,
                    photos_per_product=photos_per_product,
                    modification_groups=modification_groups,
                    content_index=content_of,
                )
                store = StoreState(
                    id=store_id,
                    name=f"Склад №{index + 1}",
                    address=f"Россия, г. Казань, ул. Складская, д. {index + 1}",
                    user_id=user_id,
                    created_at=catalog.updated_ms(0),
                    updated_at=catalog.updated_ms(0),
                    products=Table(
                        count=products,
                        generate=catalog.product,
                        generated_updated=catalog.updated_ms,
                        generated_position=catalog.position,
                    ),
                    generated=catalog,
                )
                for row in catalog.groups():
                    store.groups.add(row)
                self._stores[store_id] = store
                created.append(store_id)
            return created

    @property
    def requests_count(self) -> int:
        """API requests served since the last reset (health checks and controls excluded)."""
        with self._lock:
            return sum(self._requests_by_kind.values())

    @property
    def requests_by_kind(self) -> dict[str, int]:
        """Requests per path kind: stores, store, groups, group, products, product, images,
        image_file, v1_stores."""
        with self._lock:
            return dict(self._requests_by_kind)

    @property
    def request_log(self) -> list[dict]:
        """The last 1000 API requests: method, path, query, kind, auth ("bearer", "raw",
        "x-authorization" or "none"), accept."""
        with self._lock:
            return list(self._request_log)

    def reset_counters(self) -> None:
        with self._lock:
            self._requests_by_kind.clear()
            self._request_log.clear()

    # --- WSGI ----------------------------------------------------------------------------------
    def wsgi(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO") or "/"
        try:
            response = self._handle(environ, method, path)
        except _Response as answer:
            response = answer
        except Exception:
            logger.exception("Evotor sandbox failed on %s %s", method, path)
            response = _error(500, "internal_error", "sandbox error")
        body = response.body
        headers = list(response.headers)
        if isinstance(body, bytes):
            payload = body
        else:
            payload = dumps(body)
            headers.append(("Content-Type", CONTENT_TYPE))
        headers.append(("Content-Length", str(len(payload))))
        status = response.status
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [payload] if method != "HEAD" else [b""]

    def _handle(self, environ, method: str, path: str) -> _Response:
        if path == "/health":
            return _Response(200, {"status": "ok"})
        if path.startswith("/_control/"):
            return self._control(environ, method, path[len("/_control/") :])
        if path == "/till":
            return self._till(environ, method)
        events_match = _EVENTS_PATH.match(path)
        if events_match is not None:
            return self._events_api(environ, method, events_match["app"])
        routed = _route(path)
        if routed is None:
            raise _error(404, "not_found", "resource not found")
        kind, match = routed
        params = match.groupdict()
        if method not in ("GET", "HEAD"):
            raise _error(405, "method_not_allowed", "method not allowed")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        auth_style, token = self._credentials(environ)
        with self._lock:
            self._requests_by_kind[kind] += 1
            self._request_log.append(
                {
                    "method": method,
                    "path": path,
                    "query": {k: v[-1] for k, v in query.items()},
                    "kind": kind,
                    "auth": auth_style,
                    "accept": environ.get("HTTP_ACCEPT", ""),
                }
            )
            failure = self._take_failure(path, params.get("sid"))
        if failure is not None:
            if failure.mode != "slow":
                raise self._failure_response(failure)
            time.sleep(failure.delay)
        if kind == "image_file":
            return self._image_file(params["iid"])
        with self._lock:
            user_id = self._tokens.get(token) if token else None
            if user_id is None:
                raise _error(401, "unauthorized", "authentication required: invalid token")
            accept = environ.get("HTTP_ACCEPT", "")
            if accept and "json" not in accept and "*/*" not in accept:
                raise _error(406, "not_acceptable", "unsupported Accept media type")
            store = None
            if params.get("sid") is not None:
                store = self._stores.get(params["sid"])
                if store is None or store.user_id != user_id:
                    raise _error(404, "not_found", "store not found")
                if store.status == 402:
                    raise _error(
                        402, "payment_required", "application is not paid for the store devices"
                    )
                if store.status == 403:
                    raise _error(403, "forbidden", "application is not installed for the store")
            if kind != "images":
                return self._dispatch(kind, params, query, user_id, store)
            if store.products.get(params["pid"]) is None:
                raise _error(404, "not_found", "product not found")
            images = [
                (dict(image), self._image_files.get(image["id"]))
                for image in store.images_for(params["pid"])
            ]
        # Drawn outside the lock: a picture takes a millisecond the first time, and the
        # publisher's threads ask for the image lists of several products at once.
        items = [self._emit_image(image, own) for image, own in images]
        return _Response(200, {"items": items, "paging": {}})

    @staticmethod
    def _credentials(environ) -> tuple[str, str | None]:
        """Which auth header style the caller used, and the token it carried."""
        raw = environ.get("HTTP_X_AUTHORIZATION", "").strip()
        authorization = environ.get("HTTP_AUTHORIZATION", "").strip()
        if authorization:
            scheme, _, rest = authorization.partition(" ")
            if rest and scheme.lower() == "bearer":
                return "bearer", rest.strip()
            if not rest:
                return "raw", authorization
        if raw:
            # Some clients put the scheme into X-Authorization too; tolerate it.
            scheme, _, rest = raw.partition(" ")
            return "x-authorization", rest.strip() if rest and scheme.lower() == "bearer" else raw
        return "none", None

    def _take_failure(self, path: str, store_id: str | None) -> Failure | None:
        for failure in self._failures:
            if failure.matches(path, store_id):
                if failure.count is not None:
                    failure.count -= 1
                    if failure.count <= 0:
                        self._failures.remove(failure)
                return failure
        return None

    @staticmethod
    def _failure_response(failure: Failure) -> _Response:
        mode = failure.mode
        if mode == "401":
            return _error(401, "unauthorized", "authentication required: invalid token")
        if mode == "402":
            return _error(402, "payment_required", "application is not paid for the store devices")
        if mode == "403":
            return _error(403, "forbidden", "application is not installed for the store")
        if mode == "404":
            return _error(404, "not_found", "resource not found")
        if mode == "429":
            response = _error(429, "too_many_requests", "rate limit exceeded")
            response.headers = [
                ("X-RateLimit-Limit", "100"),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", str(failure.reset)),
            ]
            return response
        if mode in ("500", "503"):
            return _error(int(mode), "internal_error", "internal server error")
        if mode == "malformed":
            return _Response(
                200,
                b'{"items": [{"id": "broken", "name": "\xd0\x9e',
                [("Content-Type", CONTENT_TYPE)],
            )
        # "unexpected": valid JSON of the wrong shape.
        return _Response(200, {"result": "ok", "data": []})

    # --- API handlers --------------------------------------------------------------------------
    def _dispatch(self, kind, params, query, user_id, store: StoreState | None) -> _Response:
        if kind == "stores":
            table = Table()
            for candidate in self._stores.values():
                if candidate.user_id == user_id:
                    table.add(candidate.as_row())
            return self._list("stores", table, query, store_id=None, filterable=False)
        if kind == "v1_stores":
            return _Response(
                200,
                [
                    {"uuid": s.id, "name": s.name, "address": s.address, "code": str(i + 1)}
                    for i, s in enumerate(x for x in self._stores.values() if x.user_id == user_id)
                ],
            )
        if kind == "store":
            return _Response(200, emit(store.as_row()))
        if kind == "groups":
            return self._list("groups", store.groups, query, store_id=store.id, filterable=True)
        if kind == "products":
            return self._list("products", store.products, query, store_id=store.id, filterable=True)
        if kind == "group":
            row = store.groups.get(params["gid"])
            if row is None:
                raise _error(404, "not_found", "product group not found")
            return _Response(200, emit(row))
        if kind == "product":
            row = store.products.get(params["pid"])
            if row is None:
                raise _error(404, "not_found", "product not found")
            return _Response(200, emit(row))
        raise _error(404, "not_found", "resource not found")

    def _emit_image(self, image: dict, own: tuple[bytes, int, int] | None) -> dict:
        """An image list entry; `own` the file a test gave the image (set_image_file)."""
        png, width, height = own if own is not None else (render_png(image["id"]), SIZE, SIZE)
        return emit(
            {
                **image,
                "url": f"{self.public_url}/images/{image['id']}.png",
                "meta": {
                    "extension": "png",
                    "file_size": len(png),
                    "width": width,
                    "height": height,
                },
            }
        )

    def _image_file(self, image_id: str) -> _Response:
        drawn = image_id  # what the picture is drawn from
        with self._lock:
            known = image_id in self._image_index
            if known:
                store_id, product_id = self._image_index[image_id]
                store = self._stores.get(store_id)
                images = store.images_for(product_id) if store else []
                known = image_id in {image["id"] for image in images}
            else:
                parsed = parse_image_id(image_id)
                if parsed is not None:
                    for store in self._stores.values():
                        catalog = store.generated
                        if catalog is not None and catalog.store_index == parsed[0]:
                            product_id = catalog.product_id(parsed[1])
                            images = store.images_for(product_id)
                            known = image_id in {image["id"] for image in images}
                            if catalog.content_index != catalog.store_index:
                                # A store with another's content shows that store's pictures.
                                drawn = image_id.replace(
                                    f"7e57{catalog.store_index:04x}",
                                    f"7e57{catalog.content_index:04x}",
                                    1,
                                )
            own = self._image_files.get(image_id) if known else None
        if not known:
            raise _error(404, "not_found", "image not found")
        data = own[0] if own else render_png(drawn)
        return _Response(200, data, [("Content-Type", "image/png")])

    @staticmethod
    def _encode_cursor(state: dict) -> str:
        raw = json.dumps(state, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def _decode_cursor(cursor: str) -> dict | None:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            state = json.loads(raw)
        except (binascii.Error, ValueError):
            return None
        if not isinstance(state, dict) or not isinstance(state.get("p"), int):
            return None
        return state

    @staticmethod
    def _int_param(query, name: str, *, low: int, high: int | None = None) -> int | None:
        values = query.get(name)
        if not values:
            return None
        try:
            value = int(values[-1])
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise _Response(
                400,
                {
                    "code": "invalid_format",
                    "message": "invalid value format for field",
                    "violations": [{"reason": "недействительное значение", "subject": name}],
                },
            )
        return value

    def _list(self, kind, table: Table, query, *, store_id, filterable: bool) -> _Response:
        cursor = (query.get("cursor") or [""])[-1]
        if cursor:
            state = self._decode_cursor(cursor)
            if state is None or state.get("k") != kind or state.get("s") != store_id:
                raise _Response(
                    400,
                    {
                        "code": "invalid_format",
                        "message": "invalid value format for field",
                        "violations": [
                            {"reason": "недействительное значение", "subject": "cursor"}
                        ],
                    },
                )
            # Everything else on a later page is ignored: the cursor carries the first request.
            start, since, limit = state["p"], state.get("since"), state.get("l", PAGE_SIZE)
        else:
            start = 0
            limit = self._int_param(query, "limit", low=1, high=PAGE_SIZE) or PAGE_SIZE
            since = self._int_param(query, "since", low=0) if filterable else None
        rows, next_pos = table.page(start, since=since, limit=limit)
        paging = {}
        if next_pos is not None:
            paging["next_cursor"] = self._encode_cursor(
                {"k": kind, "s": store_id, "p": next_pos, "since": since, "l": limit}
            )
        return _Response(200, {"items": [emit(row) for row in rows], "paging": paging})

    # --- change events: the events API and the till page ------------------------------------
    def _events_api(self, environ, method: str, app_id: str) -> _Response:
        """`GET /api/apps/{app_id}/events` with the publisher token (§7.5 pull, §7.5a)."""
        if method not in ("GET", "HEAD"):
            raise _error(405, "method_not_allowed", "method not allowed")
        _style, token = self._credentials(environ)
        if app_id != self.events.app_id:
            raise _error(404, "not_found", "application not found")
        if token != self.events.publisher_token:
            raise _error(401, "unauthorized", "authentication required: invalid token")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        with self._lock:
            self._requests_by_kind["events"] += 1
        start, since, types = 0, None, None
        limit = self._int_param(query, "limit", low=1, high=PAGE_SIZE) or PAGE_SIZE
        cursor = query.get("cursor", [None])[-1]
        if cursor:
            state = self._decode_cursor(cursor)
            if state is None or state.get("k") != "events":
                raise _error(400, "bad_request", "invalid cursor")
            start, since, limit = state["p"], state["since"], state["l"]
            types = set(state["t"]) if state["t"] else None
        else:
            since = self._int_param(query, "since", low=0)
            raw_types = query.get("type", [""])[-1]
            types = {t.strip() for t in raw_types.split(",") if t.strip()} or None
        rows, next_pos = self.events.page(types=types, since=since, start=start, limit=limit)
        paging: dict = {}
        if next_pos is not None:
            paging["next_cursor"] = self._encode_cursor(
                {"k": "events", "p": next_pos, "since": since, "l": limit, "t": sorted(types or ())}
            )
        return _Response(200, {"items": rows, "paging": paging})

    def _till(self, environ, method: str) -> _Response:
        """«The till»: GET shows the products, POST changes one and shows the page again."""
        headers = [("Content-Type", "text/html; charset=utf-8")]
        message = ""
        if method == "POST":
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                message = till_change(self, environ["wsgi.input"].read(length))
            except (KeyError, ValueError) as exc:
                return _Response(400, f"Ошибка: {html.escape(str(exc))}".encode(), headers)
        elif method not in ("GET", "HEAD"):
            raise _error(405, "method_not_allowed", "method not allowed")
        return _Response(200, till_page(self, message), headers)

    # --- control over HTTP ---------------------------------------------------------------------
    def _control(self, environ, method: str, action: str) -> _Response:
        if action == "stats":
            return _Response(
                200,
                {"requests_count": self.requests_count, "requests_by_kind": self.requests_by_kind},
            )
        if method != "POST":
            raise _Response(405, {"error": "POST a JSON object"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        except (ValueError, KeyError):
            raise _Response(400, {"error": "the body must be a JSON object"}) from None
        if not isinstance(body, dict):
            raise _Response(400, {"error": "the body must be a JSON object"})
        actions = {
            "reset": lambda b: self.reset(),
            "clear_failures": lambda b: self.clear_failures(),
            "reset_counters": lambda b: self.reset_counters(),
            "add_token": lambda b: self.add_token(b["token"], b.get("user_id", DEMO_USER_ID)),
            "remove_token": lambda b: self.remove_token(b["token"]),
            "add_store": lambda b: self.add_store(**b),
            "set_store_status": lambda b: self.set_store_status(b["store_id"], b.get("status")),
            "set_product": lambda b: self.set_product(
                b.pop("store_id"), b.pop("product_id"), **b.pop("fields", {}), **b
            ),
            "add_product": lambda b: self.add_product(b.pop("store_id"), **b),
            "remove_product": lambda b: self.remove_product(b["store_id"], b["product_id"]),
            "add_group": lambda b: self.add_group(b.pop("store_id"), **b),
            "set_group": lambda b: self.set_group(
                b.pop("store_id"), b.pop("group_id"), **b.pop("fields", {}), **b
            ),
            "remove_group": lambda b: self.remove_group(b["store_id"], b["group_id"]),
            "fail": lambda b: self.fail(b.pop("mode"), **b),
            "generate": lambda b: self.generate(**b),
            "store_ids": lambda b: self.store_ids(b.get("user_id", DEMO_USER_ID)),
            "configure_push": lambda b: self.events.configure_push(
                b.get("url"), b.get("secret", "")
            ),
            "events": lambda b: self.events.events,
        }
        if action not in actions:
            raise _Response(404, {"error": f"unknown control {action!r}"})
        try:
            result = actions[action](body)
        except (KeyError, TypeError, ValueError) as exc:
            raise _Response(400, {"error": str(exc)}) from None
        return _Response(200, {"ok": True, "result": result})
