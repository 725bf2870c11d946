"""How an Evotor product becomes a VK item: pure functions, no database, no network.

docs/contracts/product.md "How an Evotor product becomes a VK item" and docs/contracts/vk-market-api.md §3 (`market.add`
limits). The planner feeds plain `SourceProduct`s and `RuleSettings` in and gets `DesiredItem`s
back, so every rule here is tested on its own.

The texts generated here (description, name padding) are published to the merchant's Russian
customers in VK; they are content, not interface, so they are Russian whatever the language of
the page that triggered the run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from sync.plan import stock
from sync.plan.text import clean_line, cp1251_length, cut_to_units, strip_html

# --- VK's limits (docs/contracts/vk-market-api.md §3, market.add) -------------------------------------------------
NAME_MIN = 4
NAME_MAX = 100
DESCRIPTION_MIN = 10
SKU_MAX = 50
ALBUM_TITLE_MAX = 128
PRICE_MAX = Decimal("999999999999")

# The VK fields the engine owns, in the order they are shown in a plan.
CONTENT_FIELDS = (
    "name",
    "description",
    "price",
    "old_price",
    "category_id",
    "sku",
    "stock_amount",
)

# Reasons an item is not sent to VK (shown in the plan, counted as skipped at publish).
FLAG_NAME_TOO_SHORT = "name_too_short"
FLAG_NO_PHOTO = "no_photo"
FLAG_NO_CATEGORY = "no_category"
FLAG_NO_PRICE = "no_price"


# --- Inputs --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PhotoSource:
    """Where an item's photo comes from, and a fingerprint that changes when the photo does.

    kind: evotor | product_photo | group_photo | default_photo | site_default.
    `ref` locates the bytes: the Evotor image URL, or a storage name / file path.
    """

    kind: str
    fingerprint: str
    ref: str = ""

    @property
    def photo_hash(self) -> str:
        return short_hash(self.fingerprint)


@dataclass(frozen=True)
class SourceProduct:
    """The Evotor product fields the rules read (a plain copy of a `CachedProduct`)."""

    store_id: str
    product_id: str
    name: str
    price: Decimal | None = None
    description: str = ""
    article_number: str = ""
    code: str = ""
    measure_name: str = ""
    quantity: Decimal | None = None
    allow_to_sell: bool = True
    group_id: str = ""
    group_name: str = ""
    is_removed: bool = False
    barcodes: tuple[str, ...] = ()
    # CachedProduct.content_hash: tells the engine when to look at Evotor's image again.
    source_hash: str = ""


@dataclass(frozen=True)
class RuleSettings:
    """A plain copy of the `SyncSettings` fields the rules read."""

    category_id: int | None = None
    markup_percent: Decimal = Decimal(0)
    rounding: str = "none"
    old_price_percent: Decimal = Decimal(0)
    out_of_stock_policy: str = "hide"
    removal_policy: str = "hide"
    albums_from_groups: bool = True
    removal_guard_percent: int = 20
    # The fields VK owns after the first publish (sync/plan/ownership.py).
    vk_owned: frozenset[str] = frozenset()

    # Publish `stock_amount` (sync/plan/stock.py); floors per store id, ((store id, N), ...).
    publish_stock: bool = False
    stock_floors: tuple[tuple[str, int], ...] = ()

    @classmethod
    def from_model(cls, settings) -> RuleSettings:
        return cls(
            category_id=settings.vk_category_id,
            markup_percent=Decimal(settings.price_markup_percent or 0),
            rounding=settings.price_rounding,
            old_price_percent=Decimal(settings.old_price_percent or 0),
            out_of_stock_policy=settings.out_of_stock_policy,
            removal_policy=settings.removal_policy,
            albums_from_groups=settings.albums_from_groups,
            removal_guard_percent=settings.removal_guard_percent,
            vk_owned=settings.vk_owned_fields,
            publish_stock=settings.publish_stock,
            stock_floors=stock.floors_for_rules(settings.stock_floors),
        )


# --- Output --------------------------------------------------------------------------------------
@dataclass
class DesiredItem:
    """The VK item a product should be: its fields, visibility, album and photo source."""

    store_id: str
    product_id: str
    product_name: str
    fields: dict
    visible: bool
    album_group_id: str = ""
    album_title: str = ""
    photo: PhotoSource | None = None
    # The description was generated (Evotor had none): never overwrite a merchant's own VK
    # description on an adopted item with it.
    description_generated: bool = False
    flags: list[str] = field(default_factory=list)
    source_hash: str = ""
    # Evotor's image has not been read for this version of the product: the run reads it
    # before uploading (and `photo` is only the fallback until then).
    photo_unknown: bool = False
    # The product's barcodes: strong evidence when adopting a VK item (sync.plan.adoption).
    barcodes: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.store_id, self.product_id)

    @property
    def content_hash(self) -> str:
        return fields_hash(self.fields)


def vk_name(product: SourceProduct) -> str:
    """The Evotor name cut or padded to VK's 4..100 cp1251 units; "" if nothing usable.

    A name shorter than 4 gets the unit added («Чай» → «Чай, шт»); with no unit either it stays
    short and the item is flagged.
    """
    name = clean_line(product.name)
    if not name:
        return ""
    if cp1251_length(name) < NAME_MIN:
        unit = clean_line(product.measure_name)
        if unit:
            name = f"{name}, {unit}"
    return cut_to_units(name, NAME_MAX)


def vk_description(product: SourceProduct, name: str) -> tuple[str, bool]:
    """(description, generated): Evotor's text without HTML, else one built from name, article
    and unit; always at least 10 characters."""
    text = strip_html(product.description)
    if len(text) >= DESCRIPTION_MIN:
        return text, False
    parts = [name or clean_line(product.name) or "Товар"]
    if text:
        parts.append(text)
    article = clean_line(product.article_number)
    if article:
        parts.append(f"Артикул: {article}")
    unit = clean_line(product.measure_name)
    if unit:
        parts.append(f"Единица: {unit}")
    generated = ". ".join(part.rstrip(".") for part in parts) + "."
    if len(generated) < DESCRIPTION_MIN:
        generated = f"Товар «{parts[0]}»."
    return generated, True


# --- Prices --------------------------------------------------------------------------------------
_KOPECK = Decimal("0.01")


def round_price(value: Decimal, rounding: str) -> Decimal:
    """Apply the merchant's rounding rule to a price in roubles.

    none: to the kopeck; rouble: to whole roubles (half up); ten: up to the next 10 ₽;
    ninety_nine: up to the whole rouble, minus one kopeck (1234.50 → 1234.99, 100 → 99.99),
    so the price never moves by more than a rouble.
    """
    value = Decimal(value)
    if rounding == "rouble":
        result = value.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    elif rounding == "ten":
        result = (value / 10).to_integral_value(rounding=ROUND_CEILING) * 10
    elif rounding == "ninety_nine":
        whole = value.to_integral_value(rounding=ROUND_CEILING)
        result = whole - _KOPECK if whole >= 1 else value.quantize(_KOPECK, ROUND_HALF_UP)
    else:
        result = value.quantize(_KOPECK, rounding=ROUND_HALF_UP)
    return min(result.quantize(_KOPECK, rounding=ROUND_HALF_UP), PRICE_MAX)


def price_text(value: Decimal | None) -> str | None:
    """A price as sent to VK (roubles): "123" or "123.45"; None stays None."""
    if value is None:
        return None
    value = Decimal(value).quantize(_KOPECK, rounding=ROUND_HALF_UP)
    if value == value.to_integral_value():
        return str(int(value))
    return format(value, "f")


def vk_prices(
    price: Decimal | None, settings: RuleSettings
) -> tuple[Decimal | None, Decimal | None]:
    """(price, old_price) in roubles: sale price with markup and rounding; old price when a
    "discount" display is configured (that much higher, same rounding)."""
    if price is None:
        return None, None
    price = Decimal(price)
    if price <= 0:
        return Decimal(0), None
    marked_up = price * (1 + Decimal(settings.markup_percent) / 100)
    final = round_price(marked_up, settings.rounding)
    old = None
    if settings.old_price_percent and settings.old_price_percent > 0:
        old = round_price(
            final * (1 + Decimal(settings.old_price_percent) / 100), settings.rounding
        )
        if old <= final:
            old = None
    return final, old


# --- SKU -----------------------------------------------------------------------------------------
def base_sku(product: SourceProduct) -> str:
    """The article number, else the code, else `evo-` and the product id (without dashes, 20)."""
    for candidate in (product.article_number, product.code):
        candidate = clean_line(candidate)
        if candidate:
            return candidate[:SKU_MAX]
    return f"evo-{product.product_id.replace('-', '')[:20]}"


def fallback_sku(product: SourceProduct) -> str:
    """A sku unique to this product, used when its article is shared with another product."""
    base = base_sku(product)
    suffix = product.product_id.replace("-", "")[:8]
    return f"{base[: SKU_MAX - len(suffix) - 1]}-{suffix}"


def assign_skus(
    products: list[SourceProduct], *, kept: dict[tuple[str, str], str] | None = None
) -> dict[tuple[str, str], str]:
    """A sku per product, unique among them (the key that recovers lost answers and adopts).

    `kept` maps products to the sku their link already carries: a product keeps its sku while
    its base sku is unchanged, so a newcomer sharing an article never takes it over.
    """
    kept = kept or {}
    result: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    ordered = sorted(products, key=lambda p: (p.store_id, p.product_id))
    # First the products whose link already has their base sku, then the rest in id order.
    first = [p for p in ordered if kept.get((p.store_id, p.product_id)) == base_sku(p)]
    rest = [p for p in ordered if kept.get((p.store_id, p.product_id)) != base_sku(p)]
    for product in first + rest:
        key = (product.store_id, product.product_id)
        sku = base_sku(product)
        if sku.lower() in taken:
            previous = kept.get(key)
            sku = previous if previous and previous.lower() not in taken else fallback_sku(product)
        taken.add(sku.lower())
        result[key] = sku
    return result


# --- Stock ---------------------------------------------------------------------------------------
def is_in_stock(product: SourceProduct) -> bool:
    """On sale and, where Evotor tells the stock, some left."""
    if not product.allow_to_sell:
        return False
    return product.quantity is None or Decimal(product.quantity) > 0


def is_visible(product: SourceProduct, settings: RuleSettings) -> bool:
    return settings.out_of_stock_policy == "keep" or is_in_stock(product)


def vk_stock(product: SourceProduct, settings: RuleSettings) -> int | None:
    """The `stock_amount` to show, or None when stock is not published (sync/plan/stock.py)."""
    if not settings.publish_stock:
        return None
    floor = stock.floor_for(settings.stock_floors, product.store_id)
    return stock.stock_figure(product.quantity, floor=floor)


# --- Albums --------------------------------------------------------------------------------------
def album_title(group_name: str) -> str:
    """The VK album made from an Evotor group: the group's title (≤ 128)."""
    return cut_to_units(clean_line(group_name), ALBUM_TITLE_MAX) if group_name else ""


# --- Hashes --------------------------------------------------------------------------------------
def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def fields_hash(fields: dict) -> str:
    return short_hash(json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str))


# --- The whole item ------------------------------------------------------------------------------
def desired_item(
    product: SourceProduct,
    settings: RuleSettings,
    *,
    sku: str | None = None,
    photo: PhotoSource | None = None,
    photo_unknown: bool = False,
) -> DesiredItem:
    """The VK item `product` should be, with the reasons VK would refuse it.

    `photo_unknown` means Evotor's image has not been looked at yet: the item is not flagged
    for a missing photo (the run looks, and skips it then if there is none).
    """
    name = vk_name(product)
    description, generated = vk_description(product, name)
    price, old_price = vk_prices(product.price, settings)
    fields = {
        "name": name,
        "description": description,
        "price": price_text(price),
        "old_price": price_text(old_price),
        "category_id": settings.category_id,
        "sku": sku or base_sku(product),
        "stock_amount": vk_stock(product, settings),
    }
    flags: list[str] = []
    if cp1251_length(name) < NAME_MIN:
        flags.append(FLAG_NAME_TOO_SHORT)
    if price is None or price <= 0:
        flags.append(FLAG_NO_PRICE)
    if settings.category_id is None:
        flags.append(FLAG_NO_CATEGORY)
    if photo is None and not photo_unknown:
        flags.append(FLAG_NO_PHOTO)
    group_title = album_title(product.group_name) if settings.albums_from_groups else ""
    return DesiredItem(
        store_id=product.store_id,
        product_id=product.product_id,
        product_name=clean_line(product.name) or product.product_id,
        fields=fields,
        visible=is_visible(product, settings),
        album_group_id=product.group_id if group_title else "",
        album_title=group_title,
        photo=photo,
        description_generated=generated,
        flags=flags,
        source_hash=product.source_hash,
        photo_unknown=photo_unknown,
        barcodes=tuple(b for b in (clean_line(str(b)) for b in product.barcodes) if b),
    )


def vk_params(fields: dict) -> dict:
    """`market.add`/`market.edit` parameters for (some of) an item's fields."""
    params = {}
    for key, value in fields.items():
        if key == "name":
            params["name"] = value
        elif key == "old_price":
            # VK clears the old price when it is sent as 0.
            params["old_price"] = value if value is not None else 0
        elif key == "stock_amount":
            # An edit that clears a figure published before (stock publishing switched off).
            params["stock_amount"] = value if value is not None else stock.NOT_TRACKED
        elif value is not None:
            params[key] = value
    return params
