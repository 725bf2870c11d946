"""The VK sandbox's data and its Market rules (docs/contracts/vk-market-api.md §2, §3, §7, §13).

Plain in-memory objects; the WSGI app (sandbox.vk.app) holds the lock around every use.
`MarketApi.call(token, method, params)` runs one API method and returns its `response` value or
raises `ApiError`, with VK's codes and messages.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

# --- errors ----------------------------------------------------------------------------------

ERROR_TEXT = {
    1: "Unknown error occurred",
    3: "Unknown method passed",
    5: "User authorization failed",
    6: "Too many requests per second",
    7: "Permission to perform this action is denied",
    8: "Invalid request",
    9: "Flood control",
    10: "Internal server error",
    12: "Unable to compile code",
    13: "Runtime error occurred during code invocation",
    14: "Captcha needed",
    15: "Access denied",
    27: "Group authorization failed",
    29: "Rate limit reached",
    100: "One of the parameters specified was missing or invalid",
    121: "Invalid hash",
    205: "Access denied",
    1400: "Too late for restore",
    1402: "Album not found",
    1403: "Item not found",
    1404: "Item already added to album",
    1405: "Too many items",
    1406: "Too many items in album",
    1409: "Extended market not enabled",
    1410: "Variants not enabled",
    1411: "Variants error",
    1412: "Grouping items with different properties",
    1413: "Grouping already has such variant",
    1414: "Grouping has other properties",
    1415: "Grouping must have variants",
    1416: "Variant not found",
    1417: "Property not found",
    1418: "Max properties limit exceeded",
    1419: "Max variant limit exceeded",
    1421: "Name too long",
    1423: "Variant value is too long",
    1424: "Unknown property type",
    1425: "Grouping must have two or more items",
    1426: "Item must have distinct properties",
    1407: "Too many albums",
    1435: "Crop size is less than the minimum",
    1438: "Market not enabled",
    1446: "Main album can not be hidden",
    1518: "Item is not deleted",
}


class ApiError(Exception):
    def __init__(self, code: int, detail: str = "", **extra: Any):
        self.code = code
        base = ERROR_TEXT.get(code, "Unknown error occurred")
        self.message = f"{base}: {detail}" if detail else base
        self.extra = extra
        super().__init__(self.message)


def bad_param(detail: str) -> ApiError:
    return ApiError(100, detail)


# --- data ------------------------------------------------------------------------------------

MARKET_PHOTO_ALBUM = -53  # market photos live in this pseudo-album (S14, S23)
PHOTO_UPLOADER_ID = 100  # VK's real answers show user_id 100 on market photos
CURRENCY = {"id": 643, "name": "RUB", "title": "₽"}

# A small category tree in the 5.199 getCategories shape; items answer the production shape
# (`market_market_category_old` with its `section`, docs/contracts/vk-market-api.md §3.1).
CATEGORY_TREE = [
    {
        "id": 10001,
        "name": "Продукты питания",
        "children": [
            {"id": 40001, "name": "Кондитерские изделия"},
            {"id": 40002, "name": "Напитки"},
            {"id": 40003, "name": "Молочные продукты"},
        ],
    },
    {
        "id": 10002,
        "name": "Одежда, обувь и аксессуары",
        "children": [{"id": 40010, "name": "Одежда"}, {"id": 40011, "name": "Обувь"}],
    },
    {"id": 10003, "name": "Красота и здоровье", "children": [{"id": 40020, "name": "Косметика"}]},
    {
        "id": 10004,
        "name": "Дом и дача",
        "children": [
            {"id": 40030, "name": "Посуда"},
            {"id": 40031, "name": "Хозяйственные товары"},
        ],
    },
    {"id": 10016, "name": "Канцелярские товары", "children": [{"id": 20173, "name": "Батарейки"}]},
    {"id": 10099, "name": "Другое", "children": [{"id": 40099, "name": "Другое"}]},
]
CATEGORIES: dict[int, tuple[str, dict]] = {}
for _section in CATEGORY_TREE:
    _section_ref = {"id": _section["id"], "name": _section["name"]}
    CATEGORIES[_section["id"]] = (_section["name"], _section_ref)
    for _child in _section["children"]:
        CATEGORIES[_child["id"]] = (_child["name"], _section_ref)


@dataclass
class Token:
    token: str
    user_id: int
    kind: str = "user"  # "user" or "group"
    scopes: frozenset[str] = frozenset({"market", "photos"})
    group_ids: frozenset[int] = frozenset()
    revoked: bool = False
    # When VK stops accepting it (time.time() seconds); None never (a pasted "offline" token).
    expires_at: float | None = None


@dataclass
class Photo:
    id: int
    owner_id: int
    width: int
    height: int
    date: int
    access_key: str
    thumb: bytes = b""
    item_id: int | None = None  # a market photo belongs to one item, for good
    sha256: str = ""  # of the file uploaded, so a test can tell what reached VK


@dataclass
class Album:
    id: int
    owner_id: int
    title: str
    is_main: bool = False
    is_hidden: bool = False
    photo_id: int | None = None
    updated_time: int = 0
    item_ids: list[int] = field(default_factory=list)


@dataclass
class Item:
    id: int
    owner_id: int
    title: str
    description: str
    category_id: int
    price_kop: int = 0
    old_price_kop: int | None = None
    availability: int = 0  # 0 available, 1 removed (market.delete), 2 unavailable (deleted=1)
    hidden: bool = False  # what availability returns to after restore
    main_photo_id: int | None = None
    photo_ids: list[int] = field(default_factory=list)
    sku: str = ""
    url: str = ""
    stock_amount: int | None = None
    dimensions: dict | None = None
    weight: int | None = None
    date: int = 0
    # Variants (sandbox/vk/properties.py): property variant ids, main in its group, the group.
    variant_ids: list[int] = field(default_factory=list)
    is_main_variant: bool = True
    grouping_id: int | None = None


@dataclass
class Group:
    id: int
    name: str
    screen_name: str
    market_enabled: bool = True
    admins: set[int] = field(default_factory=set)
    # Managers below administrator (admin_level 2): they see the community as theirs but
    # `groups.get` filter=admin leaves it out, and the Market refuses them.
    editors: set[int] = field(default_factory=set)
    type: str = "page"  # "group", "page" or "event"
    albums: dict[int, Album] = field(default_factory=dict)
    items: dict[int, Item] = field(default_factory=dict)
    next_album_id: int = 1
    next_item_id: int = 1
    # Properties and item groups (sandbox/vk/properties.py).
    properties: dict = field(default_factory=dict)
    item_groups: dict = field(default_factory=dict)
    variants_enabled: bool = True
    next_variants_id: int = 1  # properties, their variants and item groups share one sequence

    @property
    def owner_id(self) -> int:
        return -self.id


@dataclass
class UploadUrl:
    """An upload URL `market.getProductPhotoUploadServer` handed out (`bulk`: takes
    `file1`…`fileN` in one POST, saved by `market.saveProductPhotoBulk`)."""

    key: str
    group_id: int
    user_id: int
    created: float
    bulk: bool = False
    posts: int = 0
    expired: bool = False


@dataclass
class Upload:
    """One file an upload URL received, waiting to be saved as a photo."""

    key: str
    group_id: int
    user_id: int
    created: float
    url_key: str = ""
    saved: bool = False
    width: int = 0
    height: int = 0
    thumb: bytes = b""
    sha256: str = ""


# --- parameters ------------------------------------------------------------------------------


class Params:
    """Request parameters (all strings, as VK receives them) with VK's validation messages."""

    def __init__(self, raw: dict[str, str]):
        self.raw = raw

    def has(self, name: str) -> bool:
        return self.raw.get(name, "") != ""

    def str(self, name: str, *, required: bool = False, default: str = "") -> str:
        if not self.has(name):
            if required:
                raise bad_param(f"{name} is undefined")
            return default
        return self.raw[name]

    def int(
        self,
        name: str,
        *,
        required: bool = False,
        default: int | None = None,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        if not self.has(name):
            if required:
                raise bad_param(f"{name} is undefined")
            return default
        try:
            value = int(self.raw[name].strip())
        except ValueError:
            raise bad_param(f"{name} not integer") from None
        if minimum is not None and value < minimum:
            raise bad_param(f"{name} should be greater or equal to {minimum}")
        if maximum is not None and value > maximum:
            raise bad_param(f"{name} should be less or equal to {maximum}")
        return value

    def bool(self, name: str, *, default: bool = False) -> bool:
        if not self.has(name):
            return default
        return self.raw[name].strip().lower() not in ("0", "false")

    def int_list(self, name: str, *, required: bool = False, max_items: int | None = None):
        if not self.has(name):
            if required:
                raise bad_param(f"{name} is undefined")
            return []
        try:
            values = [int(part) for part in self.raw[name].split(",") if part.strip()]
        except ValueError:
            raise bad_param(f"{name} should be a list of integers") from None
        if max_items is not None and len(values) > max_items:
            raise bad_param(f"{name} should contain at most {max_items} items")
        return values

    def money(self, name: str) -> int | None:
        """A price in roubles → kopecks."""
        if not self.has(name):
            return None
        try:
            value = Decimal(self.raw[name].strip().replace(",", "."))
        except InvalidOperation:
            raise bad_param(f"{name} is invalid") from None
        if not value.is_finite() or value < 0 or value > Decimal("999999999999"):
            raise bad_param(f"{name} should be between 0 and 999999999999")
        return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def vk_length(text: str) -> int:
    """Length in cp1251, characters outside it counted as HTML entities (docs/contracts/vk-market-api.md §3)."""
    return len(text.encode("cp1251", errors="xmlcharrefreplace"))


def money_text(kopecks: int) -> str:
    roubles, rest = divmod(kopecks, 100)
    text = f"{roubles:,}".replace(",", " ")
    if rest:
        text += f".{rest:02d}"
    return f"{text} ₽"


# --- the API ---------------------------------------------------------------------------------

USER_ONLY_PREFIXES = ("market.",)
NO_ADMIN_NEEDED = frozenset(
    {"market.get", "market.getById", "market.getAlbums", "market.getAlbumById"}
)


class MarketApi:
    """The sandbox's world: tokens, communities, albums, items, photos, pending uploads."""

    def __init__(self, public_url: str):
        self.public_url = public_url
        self.tokens: dict[str, Token] = {}
        self.groups: dict[int, Group] = {}
        self.photos: dict[int, Photo] = {}
        self.upload_urls: dict[str, UploadUrl] = {}
        self.uploads: dict[str, Upload] = {}
        self.next_photo_id = 457239001
        self.require_main_photo = False
        # docs/contracts/vk-market-api.md §13 documents neither how many POSTs one upload URL takes nor how
        # many files one bulk POST may carry: both are switches (None: no limit), so tests can
        # play a VK that refuses a reused URL or a large bulk POST. `bulk_photos` off plays a
        # VK without the 2025-01 bulk methods.
        self.upload_url_posts: int | None = None
        self.bulk_max_files: int | None = None
        self.bulk_photos = True
        # Signs the upload server's answers (`meta`), so an edited one is refused.
        self.upload_secret = secrets.token_bytes(32)
        # Every item market.edit changed: (time.time(), group id, item id, price in kopecks),
        # so a benchmark can tell when a change reached VK (bench/freshness.py).
        self.edit_log: list[tuple[float, int, int, int]] = []

    # --- helpers used by the app and the controls --------------------------------------------

    def group_by_screen_name(self, name: str) -> Group | None:
        name = name.lower()
        for group in self.groups.values():
            if group.screen_name.lower() == name:
                return group
        for prefix in ("club", "public", "event"):
            if name.startswith(prefix) and name[len(prefix) :].isdigit():
                return self.groups.get(int(name[len(prefix) :]))
        return None

    def new_photo(
        self, owner_id: int, width: int, height: int, thumb: bytes = b"", sha256: str = ""
    ) -> Photo:
        photo = Photo(
            id=self.next_photo_id,
            owner_id=owner_id,
            width=width,
            height=height,
            date=int(time.time()),
            access_key=secrets.token_hex(9),
            thumb=thumb,
            sha256=sha256,
        )
        self.next_photo_id += 1
        self.photos[photo.id] = photo
        return photo

    def add_item(self, group: Group, **fields: Any) -> Item:
        """An item as if made by hand in VK (no validation beyond the basics)."""
        price = Decimal(str(fields.pop("price", "100")))
        old_price = fields.pop("old_price", None)
        album_ids = fields.pop("album_ids", ())
        with_photo = fields.pop("with_photo", False)
        item = Item(
            id=group.next_item_id,
            owner_id=group.owner_id,
            title=fields.pop("title", f"Товар {group.next_item_id}"),
            description=fields.pop("description", "Товар, добавленный вручную в ВКонтакте."),
            category_id=int(fields.pop("category_id", 40099)),
            price_kop=int(price * 100),
            old_price_kop=int(Decimal(str(old_price)) * 100) if old_price is not None else None,
            date=int(fields.pop("date", time.time())),
        )
        availability = int(fields.pop("availability", 0))
        item.availability = availability
        item.hidden = availability == 2
        for key, value in fields.items():
            if not hasattr(item, key):
                raise TypeError(f"unknown item field {key!r}")
            setattr(item, key, value)
        group.next_item_id += 1
        group.items[item.id] = item
        if with_photo:
            photo = self.new_photo(group.owner_id, 800, 800)
            photo.item_id = item.id
            item.main_photo_id = photo.id
        for album_id in album_ids:
            group.albums[album_id].item_ids.append(item.id)
        return item

    def add_album(self, group: Group, title: str, **fields: Any) -> Album:
        album = Album(
            id=group.next_album_id,
            owner_id=group.owner_id,
            title=title,
            updated_time=int(time.time()),
            **fields,
        )
        group.next_album_id += 1
        group.albums[album.id] = album
        return album

    # --- rendering ---------------------------------------------------------------------------

    def photo_url(self, photo_id: int | None, size: str = "x") -> str:
        return f"{self.public_url}/photo/{photo_id or 0}.jpg?size={size}"

    def photo_json(self, photo: Photo) -> dict:
        sizes = []
        for kind, width in (("s", 75), ("m", 130), ("x", 604), ("y", 807)):
            scale = min(1.0, width / max(photo.width, 1))
            sizes.append(
                {
                    "type": kind,
                    "width": max(1, round(photo.width * scale)),
                    "height": max(1, round(photo.height * scale)),
                    "url": self.photo_url(photo.id, kind),
                }
            )
        return {
            "album_id": MARKET_PHOTO_ALBUM,
            "date": photo.date,
            "id": photo.id,
            "owner_id": photo.owner_id,
            "access_key": photo.access_key,
            "sizes": sizes,
            "text": "",
            "user_id": PHOTO_UPLOADER_ID,
            "has_tags": False,
            "orig_photo": {
                "type": "base",
                "width": photo.width,
                "height": photo.height,
                "url": self.photo_url(photo.id, "base"),
            },
        }

    def price_json(self, item: Item) -> dict:
        price = {
            "amount": str(item.price_kop),
            "currency": dict(CURRENCY),
            "text": money_text(item.price_kop),
        }
        if item.old_price_kop is not None:
            price["old_amount"] = str(item.old_price_kop)
            price["old_amount_text"] = money_text(item.old_price_kop)
            if item.old_price_kop > 0:
                rate = (item.price_kop - item.old_price_kop) * 100 / item.old_price_kop
                price["discount_rate"] = int(rate)
        return price

    def item_json(self, group: Group, item: Item, *, extended: bool, viewer: Token | None) -> dict:
        name, section = CATEGORIES.get(
            item.category_id, ("Другое", {"id": 10099, "name": "Другое"})
        )
        is_admin = viewer is not None and viewer.user_id in group.admins and viewer.kind == "user"
        data: dict[str, Any] = {
            "id": item.id,
            "owner_id": item.owner_id,
            "title": item.title,
            "description": item.description,
            "price": self.price_json(item),
            "category": {
                "inner_type": "market_market_category_old",
                "id": item.category_id,
                "name": name,
                "section": dict(section),
            },
            "availability": item.availability,
            "date": item.date,
            "thumb_photo": self.photo_url(item.main_photo_id, "m"),
            "is_owner": is_admin,
            "is_adult": False,
            "is_favorite": False,
            "is_main_variant": item.is_main_variant,
            "url": f"https://vk.com/market{item.owner_id}?w=product{item.owner_id}_{item.id}",
        }
        if item.grouping_id is not None:
            data["variants_grouping_id"] = item.grouping_id
        if item.sku:
            data["sku"] = item.sku
        if item.stock_amount is not None:
            data["stock_amount"] = item.stock_amount
        if item.dimensions:
            data["dimensions"] = dict(item.dimensions)
        if item.weight is not None:
            data["weight"] = item.weight
        if extended:
            photo_ids = [p for p in [item.main_photo_id, *item.photo_ids] if p]
            data.update(
                {
                    "albums_ids": [a.id for a in group.albums.values() if item.id in a.item_ids],
                    "photos": [
                        self.photo_json(self.photos[p]) for p in photo_ids if p in self.photos
                    ],
                    "can_comment": 1,
                    "can_repost": 1,
                    "likes": {"user_likes": 0, "count": 0},
                    "reposts": {"count": 0, "user_reposted": 0},
                    "views_count": 0,
                    "can_edit": is_admin,
                    "can_delete": is_admin,
                    "can_recover": is_admin and item.availability == 1,
                }
            )
        return data

    def album_json(self, group: Group, album: Album) -> dict:
        data: dict[str, Any] = {
            "id": album.id,
            "owner_id": album.owner_id,
            "title": album.title,
            "count": sum(
                1
                for item_id in album.item_ids
                if item_id in group.items and group.items[item_id].availability != 1
            ),
            "updated_time": album.updated_time,
            "is_main": album.is_main,
            "is_hidden": album.is_hidden,
        }
        if album.photo_id and album.photo_id in self.photos:
            data["photo"] = self.photo_json(self.photos[album.photo_id])
        return data

    # --- dispatch ------------------------------------------------------------------------------

    def call(self, token: Token, method: str, params: dict[str, str]) -> Any:
        handler = self.METHODS.get(method)
        if handler is None:
            raise ApiError(3)
        if method.startswith(USER_ONLY_PREFIXES):
            if token.kind != "user":
                raise ApiError(27, "method is unavailable with group auth.")
            if "market" not in token.scopes:
                raise ApiError(15, "no access to call this method")
        return handler(self, token, Params(params))

    def _market_group(
        self, token: Token, p: Params, *, write: bool, item_error: int = 205
    ) -> Group:
        owner_id = p.int("owner_id", required=True)
        if owner_id >= 0:
            raise bad_param("only groups supported")
        group = self.groups.get(-owner_id)
        if group is None:
            raise bad_param("owner_id is invalid")
        if not group.market_enabled:
            raise ApiError(1438)
        if write and token.user_id not in group.admins:
            raise ApiError(item_error)
        return group

    def _upload_group(self, token: Token, group_id: int) -> Group:
        group = self.groups.get(group_id)
        if group is None:
            raise bad_param("group_id is invalid")
        if not group.market_enabled:
            raise ApiError(1438)
        if token.user_id not in group.admins:
            raise ApiError(7)
        return group

    def _item(self, group: Group, item_id: int, *, allow_removed: bool = True) -> Item:
        item = group.items.get(item_id)
        if item is None or (item.availability == 1 and not allow_removed):
            raise ApiError(1403)
        return item

    def _album(self, group: Group, album_id: int) -> Album:
        album = group.albums.get(album_id)
        if album is None:
            raise ApiError(1402)
        return album

    # --- market: items -------------------------------------------------------------------------

    def market_get(self, token: Token, p: Params):
        group = self._market_group(token, p, write=False)
        album_id = p.int("album_id", default=0)
        count = p.int("count", default=100, minimum=0, maximum=200)
        offset = p.int("offset", default=0, minimum=0)
        extended = p.bool("extended")
        with_disabled = p.bool("with_disabled")
        items = [
            item
            for item in group.items.values()
            if item.availability == 0 or (item.availability == 2 and with_disabled)
        ]
        if album_id:
            album = self._album(group, album_id)
            members = set(album.item_ids)
            items = [item for item in items if item.id in members]
        items.sort(key=lambda item: item.id, reverse=True)
        page = items[offset : offset + count]
        return {
            "count": len(items),
            "items": [self.item_json(group, i, extended=extended, viewer=token) for i in page],
        }

    def market_getById(self, token: Token, p: Params):
        raw = p.str("item_ids", required=True)
        ids = [part.strip() for part in raw.split(",") if part.strip()]
        if len(ids) > 100:
            raise bad_param("item_ids should contain at most 100 items")
        extended = p.bool("extended")
        found = []
        for ref in ids:
            try:
                owner_id, item_id = (int(x) for x in ref.split("_", 1))
            except ValueError:
                raise bad_param("item_ids is invalid") from None
            group = self.groups.get(-owner_id)
            if group is None or not group.market_enabled or item_id not in group.items:
                continue
            found.append(
                self.item_json(group, group.items[item_id], extended=extended, viewer=token)
            )
        return {"count": len(found), "items": found}

    def _item_fields(self, group: Group, p: Params, item: Item | None) -> dict:
        """Validated fields of market.add (item None) or market.edit."""
        adding = item is None
        fields: dict[str, Any] = {}
        if adding or p.has("name"):
            name = p.str("name", required=True)
            if vk_length(name) < 4:
                raise bad_param("name should be at least 4 letters length")
            if vk_length(name) > 100:
                raise bad_param("name should be at most 100 letters length")
            fields["title"] = name
        if adding or p.has("description"):
            description = p.str("description", required=True)
            if vk_length(description) < 10:
                raise bad_param("description should be at least 10 letters length")
            fields["description"] = description
        if adding or p.has("category_id"):
            category_id = p.int("category_id", required=True, minimum=0)
            if category_id not in CATEGORIES:
                raise bad_param("category_id is invalid")
            fields["category_id"] = category_id
        price = p.money("price")
        if price is not None:
            fields["price_kop"] = price
        if p.has("old_price"):
            fields["old_price_kop"] = p.money("old_price")
        if p.has("deleted"):
            fields["hidden"] = p.bool("deleted")
        if p.has("sku"):
            sku = p.str("sku")
            if len(sku) > 50:
                raise bad_param("sku should be at most 50 letters length")
            fields["sku"] = sku
        if p.has("url"):
            url = p.str("url")
            if len(url) > 320:
                raise bad_param("url should be at most 320 letters length")
            fields["url"] = url
        if p.has("stock_amount"):
            fields["stock_amount"] = p.int("stock_amount", minimum=-1, maximum=999999)
        if any(p.has(f"dimension_{d}") for d in ("width", "height", "length")):
            fields["dimensions"] = {
                d: p.int(f"dimension_{d}", default=0, minimum=0, maximum=100000)
                for d in ("width", "height", "length")
            }
        if p.has("weight"):
            fields["weight"] = p.int("weight", minimum=0, maximum=100000000)
        own_id = item.id if item else None
        if p.has("main_photo_id"):
            fields["main_photo_id"] = self._free_photo(group, p.int("main_photo_id"), own_id)
        elif adding and self.require_main_photo:
            raise bad_param("photo is undefined")
        if p.has("photo_ids"):
            photo_ids = p.int_list("photo_ids", max_items=4)
            fields["photo_ids"] = [self._free_photo(group, pid, own_id) for pid in photo_ids]
        from sandbox.vk import properties  # it builds on this module

        fields.update(properties.item_variant_fields(group, p, item))
        return fields

    def _free_photo(self, group: Group, photo_id: int | None, own_item_id: int | None) -> int:
        photo = self.photos.get(photo_id or 0)
        if (
            photo is None
            or photo.owner_id != group.owner_id
            or (photo.item_id is not None and photo.item_id != own_item_id)
        ):
            raise bad_param("photo not found or already assigned to another item")
        return photo.id

    def _apply(self, item: Item, fields: dict) -> None:
        for key, value in fields.items():
            setattr(item, key, value)
        if item.availability != 1:
            item.availability = 2 if item.hidden else 0
        for photo_id in [item.main_photo_id, *item.photo_ids]:
            if photo_id in self.photos:
                self.photos[photo_id].item_id = item.id

    def market_add(self, token: Token, p: Params):
        group = self._market_group(token, p, write=True)
        fields = self._item_fields(group, p, None)
        fields.setdefault("price_kop", 0)
        item = Item(
            id=group.next_item_id,
            owner_id=group.owner_id,
            title=fields.pop("title"),
            description=fields.pop("description"),
            category_id=fields.pop("category_id"),
            date=int(time.time()),
        )
        self._apply(item, fields)
        group.next_item_id += 1
        group.items[item.id] = item
        return {"market_item_id": item.id}

    def market_edit(self, token: Token, p: Params):
        group = self._market_group(token, p, write=True)
        item = self._item(group, p.int("item_id", required=True), allow_removed=False)
        fields = self._item_fields(group, p, item)
        from sandbox.vk import properties  # it builds on this module

        properties.check_grouped_edit(group, item, fields)
        self._apply(item, fields)
        properties.after_edit(group, item, fields)
        self.edit_log.append((time.time(), group.id, item.id, item.price_kop))
        return 1

    def market_delete(self, token: Token, p: Params):
        group = self._market_group(token, p, write=True)
        item = self._item(group, p.int("item_id", required=True), allow_removed=False)
        item.availability = 1
        from sandbox.vk import properties  # it builds on this module

        properties.leave_group(group, item)
        return 1

    def market_restore(self, token: Token, p: Params):
        group = self._market_group(token, p, write=True)
        item = self._item(group, p.int("item_id", required=True))
        if item.availability != 1:
            raise ApiError(1518)
        item.availability = 2 if item.hidden else 0
        return 1

    # --- market: albums ------------------------------------------------------------------------

    def market_getAlbums(self, token: Token, p: Params):
        group = self._market_group(token, p, write=False)
        offset = p.int("offset", default=0, minimum=0)
        count = p.int("count", default=50, minimum=0, maximum=100)
        albums = list(group.albums.values())
        page = albums[offset : offset + count]
        return {"count": len(albums), "items": [self.album_json(group, a) for a in page]}

    def market_getAlbumById(self, token: Token, p: Params):
        group = self._market_group(token, p, write=False)
        ids = p.int_list("album_ids", required=True)
        found = [self.album_json(group, group.albums[i]) for i in ids if i in group.albums]
        return {"count": len(found), "items": found}

    def _album_fields(self, group: Group, p: Params, album: Album | None) -> dict:
        title = p.str("title", required=True)
        if len(title) > 128:
            raise bad_param("title should be at most 128 letters length")
        fields: dict[str, Any] = {"title": title}
        if p.has("photo_id"):
            photo = self.photos.get(p.int("photo_id") or 0)
            if photo is None or photo.owner_id != group.owner_id:
                raise bad_param("photo not found")
            fields["photo_id"] = photo.id
        is_main = p.bool("main_album", default=album.is_main if album else False)
        is_hidden = p.bool("is_hidden", default=album.is_hidden if album else False)
        if is_main and is_hidden:
            raise ApiError(1446)
        fields["is_main"] = is_main
        fields["is_hidden"] = is_hidden
        return fields

    def _set_main(self, group: Group, album: Album) -> None:
        if album.is_main:
            for other in group.albums.values():
                if other is not album:
                    other.is_main = False

    def market_addAlbum(self, token: Token, p: Params):
        group = self._market_group(token, p, write=True, item_error=7)
        fields = self._album_fields(group, p, None)
        album = self.add_album(group, fields.pop("title"), **fields)
        self._set_main(group, album)
        return {"market_album_id": album.id, "albums_count": len(group.albums)}

    def market_editAlbum(self, token: Token, p: Params):
        group = self._market_group(token, p, write=True, item_error=7)
        album = self._album(group, p.int("album_id", required=True))
        for key, value in self._album_fields(group, p, album).items():
            setattr(album, key, value)
        album.updated_time = int(time.time())
        self._set_main(group, album)
        return 1

    def market_deleteAlbum(self, token: Token, p: Params):
        group = self._market_group(token, p, write=True, item_error=7)
        album = self._album(group, p.int("album_id", required=True))
        del group.albums[album.id]
        return 1

    def market_addToAlbum(self, token: Token, p: Params):
        group = self._market_group(token, p, write=True, item_error=7)
        # The 5.199 schema says item_ids; older integrations still send item_id (§12.4).
        item_ids = p.int_list("item_ids") or p.int_list("item_id")
        if not item_ids:
            raise bad_param("item_ids is undefined")
        albums = [self._album(group, a) for a in p.int_list("album_ids", required=True)]
        items = [self._item(group, i, allow_removed=False) for i in item_ids]
        for album in albums:
            for item in items:
                if item.id in album.item_ids:
                    raise ApiError(1404)
        for album in albums:
            album.item_ids.extend(item.id for item in items)
            album.updated_time = int(time.time())
        return 1

    def market_removeFromAlbum(self, token: Token, p: Params):
        group = self._market_group(token, p, write=True, item_error=7)
        item = self._item(group, p.int("item_id", required=True))
        albums = [self._album(group, a) for a in p.int_list("album_ids", required=True)]
        for album in albums:
            if item.id in album.item_ids:
                album.item_ids.remove(item.id)
                album.updated_time = int(time.time())
        return 1

    def market_getCategories(self, token: Token, p: Params):
        return {"items": CATEGORY_TREE}

    # --- market: photos (the upload server itself is sandbox.vk.upload) ------------------------

    def market_getProductPhotoUploadServer(self, token: Token, p: Params):
        group_id = p.int("group_id", required=True, minimum=1)
        bulk = p.bool("bulk")
        if bulk and not self.bulk_photos:
            raise bad_param("bulk is not supported")
        group = self._upload_group(token, group_id)
        key = secrets.token_urlsafe(18)
        self.upload_urls[key] = UploadUrl(
            key=key, group_id=group.id, user_id=token.user_id, created=time.time(), bulk=bulk
        )
        return {"upload_url": f"{self.public_url}/upload/{key}"}

    def market_saveProductPhoto(self, token: Token, p: Params):
        from sandbox.vk.upload import read_upload_response

        upload_response = p.str("upload_response", required=True)
        uploads, bulk = read_upload_response(self, upload_response)
        if bulk:
            raise bad_param("upload_response is invalid: use market.saveProductPhotoBulk")
        (photo_id,) = self._save_uploads(token, uploads)
        return {"photo_id": photo_id}

    def market_saveProductPhotoBulk(self, token: Token, p: Params):
        """docs/contracts/vk-market-api.md §13: one photo per file of a bulk upload, in the files' order."""
        from sandbox.vk.upload import read_upload_response

        if not self.bulk_photos:
            raise ApiError(3)
        upload_response = p.str("upload_response", required=True)
        uploads, bulk = read_upload_response(self, upload_response)
        if not bulk:
            raise bad_param("upload_response is invalid: use market.saveProductPhoto")
        return [{"photo_id": photo_id} for photo_id in self._save_uploads(token, uploads)]

    def _save_uploads(self, token: Token, uploads: list[Upload]) -> list[int]:
        group = self._upload_group(token, uploads[0].group_id)
        for upload in uploads:
            if upload.saved:
                raise bad_param("upload_response is invalid: photo already saved")
            url = self.upload_urls.get(upload.url_key)
            if url is None or url.expired:
                raise bad_param("upload_response is invalid: the upload server expired")
        photo_ids = []
        for upload in uploads:
            upload.saved = True
            photo = self.new_photo(
                group.owner_id, upload.width, upload.height, upload.thumb, upload.sha256
            )
            photo_ids.append(photo.id)
        return photo_ids

    # --- groups / utils (the connection test, the community choice) ---------------------------

    def groups_get(self, token: Token, p: Params):
        """The communities of the token's person (VK schema groups.get, 5.199): `filter`
        admin / editor / moder / groups / publics / events, `extended` with `fields`, `offset`,
        `count` ≤ 1000. User tokens with the `groups` right only."""
        if token.kind != "user":
            raise ApiError(27, "method is unavailable with group auth.")
        if "groups" not in token.scopes:
            raise ApiError(15, "no access to call this method")
        filters = {f.strip() for f in p.str("filter").split(",") if f.strip()}
        unknown = filters - {
            "admin",
            "editor",
            "moder",
            "advertiser",
            "groups",
            "publics",
            "events",
        }
        if unknown:
            raise bad_param(f"filter is invalid: {sorted(unknown)[0]}")
        offset = p.int("offset", default=0, minimum=0)
        count = p.int("count", default=1000, minimum=0, maximum=1000)
        fields = {f.strip() for f in p.str("fields").split(",") if f.strip()}
        user = token.user_id

        def wanted(group: Group) -> bool:
            # Membership is not modelled beyond managers: every filter needs at least that.
            if user not in group.admins | group.editors:
                return False
            if "admin" in filters and user not in group.admins:
                return False
            kinds = {"groups": "group", "publics": "page", "events": "event"}
            chosen = {kinds[f] for f in filters if f in kinds}
            return not chosen or group.type in chosen

        found = sorted((g for g in self.groups.values() if wanted(g)), key=lambda g: g.id)
        page = found[offset : offset + count]
        if not p.bool("extended"):
            return {"count": len(found), "items": [g.id for g in page]}
        return {"count": len(found), "items": [self._group_json(g, token, fields) for g in page]}

    def groups_getById(self, token: Token, p: Params):
        raw = p.str("group_ids") or p.str("group_id")
        if not raw and token.kind == "group" and token.group_ids:
            raw = str(min(token.group_ids))
        if not raw:
            raise bad_param("group_ids is undefined")
        fields = {f.strip() for f in p.str("fields").split(",") if f.strip()}
        groups = []
        for ref in (part.strip() for part in raw.split(",") if part.strip()):
            group = self.groups.get(int(ref)) if ref.isdigit() else self.group_by_screen_name(ref)
            if group is None:
                raise bad_param("group_ids is invalid")
            groups.append(self._group_json(group, token, fields))
        return {"groups": groups, "profiles": []}

    def _group_json(self, group: Group, token: Token, fields: set[str]) -> dict:
        is_user = token.kind == "user"
        level = 3 if is_user and token.user_id in group.admins else 0
        if not level and is_user and token.user_id in group.editors:
            level = 2
        data: dict[str, Any] = {
            "id": group.id,
            "name": group.name,
            "screen_name": group.screen_name,
            "is_closed": 0,
            "type": group.type,
            # VK's is_admin is 1 for every manager; admin_level tells which (3 administrator).
            "is_admin": int(bool(level)),
            "is_member": int(bool(level)),
            "is_advertiser": 0,
            "photo_50": f"{self.public_url}/photo/0.jpg?size=s",
            "photo_100": f"{self.public_url}/photo/0.jpg?size=m",
            "photo_200": f"{self.public_url}/photo/0.jpg?size=x",
        }
        if level:
            data["admin_level"] = level
        if "market" in fields:
            if group.market_enabled:
                data["market"] = {
                    "enabled": 1,
                    "type": "basic",
                    "currency": dict(CURRENCY),
                    "currency_text": "Российский рубль",
                }
            else:
                data["market"] = {"enabled": 0}
        return data

    def utils_resolveScreenName(self, token: Token, p: Params):
        name = p.str("screen_name", required=True).strip().strip("/")
        group = self.group_by_screen_name(name)
        if group is None:
            return []
        return {"type": "group", "object_id": group.id}

    METHODS = {
        "market.get": market_get,
        "market.getById": market_getById,
        "market.add": market_add,
        "market.edit": market_edit,
        "market.delete": market_delete,
        "market.restore": market_restore,
        "market.getAlbums": market_getAlbums,
        "market.getAlbumById": market_getAlbumById,
        "market.addAlbum": market_addAlbum,
        "market.editAlbum": market_editAlbum,
        "market.deleteAlbum": market_deleteAlbum,
        "market.addToAlbum": market_addToAlbum,
        "market.removeFromAlbum": market_removeFromAlbum,
        "market.getCategories": market_getCategories,
        "market.getProductPhotoUploadServer": market_getProductPhotoUploadServer,
        "market.saveProductPhoto": market_saveProductPhoto,
        "groups.get": groups_get,
        "market.saveProductPhotoBulk": market_saveProductPhotoBulk,
        "groups.getById": groups_getById,
        "utils.resolveScreenName": utils_resolveScreenName,
    }
