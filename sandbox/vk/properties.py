"""The sandbox's item properties, property variants and item groups (variants of one product).

docs/contracts/vk-market-api.md §13 "Variants" and VK's schema (tests/vk/vk_api_schema/market/
methods.json: `market.addProperty`, `addPropertyVariant`, `getProperties`, `groupItems`,
`ungroupItems`, `variant_ids`/`is_main_variant` on `market.add`/`edit`). VK documents the error
codes but not every rule behind them; where it is silent this module does what the error names
say, and each such choice is marked "assumed".

Registered into `MarketApi.METHODS` when imported (sandbox/vk/app.py imports it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.vk.state import ApiError, Group, Item, MarketApi, Params, Token, bad_param, vk_length

VARIANT_TITLE_MAX = 60  # schema: addPropertyVariant.title maxLength 60
VARIANTS_PER_PROPERTY = 50  # contract notes §13
# Assumed: VK documents 1418 and 1421 but not the numbers behind them.
PROPERTY_TITLE_MAX = 60
PROPERTIES_PER_COMMUNITY = 50


@dataclass
class Property:
    id: int
    title: str
    type: str = "text"
    variants: dict[int, str] = field(default_factory=dict)  # variant id → title


def _next_id(group: Group) -> int:
    value = group.next_variants_id
    group.next_variants_id += 1
    return value


def _group(api: MarketApi, token: Token, p: Params) -> Group:
    group = api._upload_group(token, p.int("group_id", required=True, minimum=1))
    if not group.variants_enabled:
        raise ApiError(1410)
    return group


def _property(group: Group, property_id: int) -> Property:
    prop = group.properties.get(property_id)
    if prop is None:
        raise ApiError(1417)
    return prop


def _variant_owner(group: Group, variant_id: int) -> Property:
    for prop in group.properties.values():
        if variant_id in prop.variants:
            return prop
    raise ApiError(1416)


def _property_title(p: Params) -> str:
    title = p.str("title", required=True).strip()
    if not title:
        raise bad_param("title is undefined")
    if vk_length(title) > PROPERTY_TITLE_MAX:
        raise ApiError(1421)
    return title


def _variant_title(p: Params) -> str:
    title = p.str("title", required=True).strip()
    if not title:
        raise bad_param("title should be at least 1 letters length")
    if vk_length(title) > VARIANT_TITLE_MAX:
        raise ApiError(1423)
    return title


# --- properties and their variants --------------------------------------------------------------
def market_getProperties(api: MarketApi, token: Token, p: Params):
    group = _group(api, token, p)
    items = [
        {
            "id": prop.id,
            "title": prop.title,
            "type": prop.type,
            "variants": [{"id": vid, "title": title} for vid, title in prop.variants.items()],
        }
        for prop in group.properties.values()
    ]
    return {"count": len(items), "items": items}


def market_addProperty(api: MarketApi, token: Token, p: Params):
    group = _group(api, token, p)
    title = _property_title(p)
    kind = p.str("type", default="text")
    if kind not in ("text", "color"):
        raise ApiError(1424)
    if len(group.properties) >= PROPERTIES_PER_COMMUNITY:
        raise ApiError(1418)
    # Assumed: like VK's albums, two properties may share a title (so a lost answer retried
    # blindly makes a duplicate; the engine looks before it makes one again).
    prop = Property(id=_next_id(group), title=title, type=kind)
    group.properties[prop.id] = prop
    return {"property_id": prop.id}


def market_editProperty(api: MarketApi, token: Token, p: Params):
    group = _group(api, token, p)
    prop = _property(group, p.int("property_id", required=True, minimum=0))
    prop.title = _property_title(p)
    return 1


def market_deleteProperty(api: MarketApi, token: Token, p: Params):
    group = _group(api, token, p)
    prop = _property(group, p.int("property_id", required=True, minimum=0))
    for variant_id in list(prop.variants):
        _drop_variant(group, prop, variant_id)
    del group.properties[prop.id]
    return 1


def market_addPropertyVariant(api: MarketApi, token: Token, p: Params):
    group = _group(api, token, p)
    prop = _property(group, p.int("property_id", required=True, minimum=0))
    title = _variant_title(p)
    if len(prop.variants) >= VARIANTS_PER_PROPERTY:
        raise ApiError(1419)
    variant_id = _next_id(group)
    prop.variants[variant_id] = title
    return {"variant_id": variant_id}


def market_editPropertyVariant(api: MarketApi, token: Token, p: Params):
    group = _group(api, token, p)
    variant_id = p.int("variant_id", required=True, minimum=0)
    prop = _variant_owner(group, variant_id)
    prop.variants[variant_id] = _variant_title(p)
    return 1


def market_deletePropertyVariant(api: MarketApi, token: Token, p: Params):
    group = _group(api, token, p)
    variant_id = p.int("variant_id", required=True, minimum=0)
    _drop_variant(group, _variant_owner(group, variant_id), variant_id)
    return 1


def _drop_variant(group: Group, prop: Property, variant_id: int) -> None:
    """Assumed: items lose the variant, and a group whose items no longer differ breaks up."""
    del prop.variants[variant_id]
    for item in group.items.values():
        if variant_id in item.variant_ids:
            item.variant_ids = [v for v in item.variant_ids if v != variant_id]
            leave_group(group, item)


# --- items' variants (market.add / market.edit) -------------------------------------------------
def _properties_of(group: Group, variant_ids: list[int]) -> frozenset[int]:
    return frozenset(_variant_owner(group, v).id for v in variant_ids)


def item_variant_fields(group: Group, p: Params, item: Item | None) -> dict[str, Any]:
    """`variant_ids` (≤ 2, each of a different property) and `is_main_variant` of add/edit."""
    fields: dict[str, Any] = {}
    if p.has("variant_ids"):
        variant_ids = p.int_list("variant_ids", max_items=2)
        if variant_ids and not group.variants_enabled:
            raise ApiError(1410)
        if len(_properties_of(group, variant_ids)) != len(variant_ids):
            raise ApiError(1426)  # two variants of one property
        fields["variant_ids"] = variant_ids
    if p.has("is_main_variant"):
        fields["is_main_variant"] = p.bool("is_main_variant")
    return fields


def _members(group: Group, grouping_id: int) -> list[Item]:
    return [group.items[i] for i in group.item_groups.get(grouping_id, []) if i in group.items]


def check_grouped_edit(group: Group, item: Item, fields: dict) -> None:
    """A grouped item's new variants must keep the group's properties and stay distinct."""
    if item.grouping_id is None or "variant_ids" not in fields:
        return
    others = [m for m in _members(group, item.grouping_id) if m.id != item.id]
    new_ids = fields["variant_ids"]
    if others and _properties_of(group, new_ids) != _properties_of(group, others[0].variant_ids):
        raise ApiError(1412)
    if any(sorted(m.variant_ids) == sorted(new_ids) for m in others):
        raise ApiError(1413)


def after_edit(group: Group, item: Item, fields: dict) -> None:
    """A grouped item made main takes the mark from the others (one main per group)."""
    if item.grouping_id is not None and fields.get("is_main_variant"):
        for other in _members(group, item.grouping_id):
            if other.id != item.id:
                other.is_main_variant = False


def leave_group(group: Group, item: Item) -> None:
    """The item leaves its group (deleted, or grouped elsewhere); a group left with fewer than
    two items breaks up (assumed: VK shows no group of one)."""
    grouping_id = item.grouping_id
    if grouping_id is None:
        return
    item.grouping_id = None
    item.is_main_variant = True
    remaining = [i for i in group.item_groups.get(grouping_id, []) if i != item.id]
    if len(remaining) < 2:
        _dissolve(group, grouping_id)
        return
    group.item_groups[grouping_id] = remaining
    members = _members(group, grouping_id)
    if not any(m.is_main_variant for m in members):
        members[0].is_main_variant = True


def _dissolve(group: Group, grouping_id: int) -> None:
    for item_id in group.item_groups.pop(grouping_id, []):
        item = group.items.get(item_id)
        if item is not None:
            item.grouping_id = None
            item.is_main_variant = True


# --- grouping ------------------------------------------------------------------------------------
def market_groupItems(api: MarketApi, token: Token, p: Params):
    """Group items into one product with variants; with `item_group_id`, add them to that group
    (assumed: VK's parameter is for adding to an existing group; items already in another group
    move out of it)."""
    group = _group(api, token, p)
    item_ids = p.int_list("item_ids", required=True)
    target = p.int("item_group_id", minimum=0)
    if target is not None and target not in group.item_groups:
        raise ApiError(1411, "items group not found")  # assumed
    new_items = []
    for item_id in dict.fromkeys(item_ids):
        item = group.items.get(item_id)
        if item is None or item.availability == 1:
            raise ApiError(1403)
        new_items.append(item)
    existing = _members(group, target) if target is not None else []
    members = existing + [item for item in new_items if item not in existing]
    if len(members) < 2:
        raise ApiError(1425)
    if any(not item.variant_ids for item in members):
        raise ApiError(1415)
    if existing:
        wanted = _properties_of(group, existing[0].variant_ids)
        if any(_properties_of(group, item.variant_ids) != wanted for item in new_items):
            raise ApiError(1414)
        combos = {tuple(sorted(item.variant_ids)) for item in existing}
        if any(
            tuple(sorted(item.variant_ids)) in combos for item in new_items if item not in existing
        ):
            raise ApiError(1413)
    if len({_properties_of(group, item.variant_ids) for item in members}) > 1:
        raise ApiError(1412)
    if len({tuple(sorted(item.variant_ids)) for item in members}) != len(members):
        raise ApiError(1426)
    grouping_id = target if target is not None else _next_id(group)
    for item in members:
        if item.grouping_id is not None and item.grouping_id != grouping_id:
            leave_group(group, item)
    group.item_groups[grouping_id] = [item.id for item in members]
    main = next((item for item in members if item.is_main_variant), members[0])
    for item in members:
        item.grouping_id = grouping_id
        item.is_main_variant = item is main
    return {"item_group_id": grouping_id}


def market_ungroupItems(api: MarketApi, token: Token, p: Params):
    group = _group(api, token, p)
    grouping_id = p.int("item_group_id", required=True, minimum=0)
    if grouping_id not in group.item_groups:
        raise ApiError(1411, "items group not found")  # assumed
    _dissolve(group, grouping_id)
    return 1


MarketApi.METHODS.update(
    {
        "market.getProperties": market_getProperties,
        "market.addProperty": market_addProperty,
        "market.editProperty": market_editProperty,
        "market.deleteProperty": market_deleteProperty,
        "market.addPropertyVariant": market_addPropertyVariant,
        "market.editPropertyVariant": market_editPropertyVariant,
        "market.deletePropertyVariant": market_deletePropertyVariant,
        "market.groupItems": market_groupItems,
        "market.ungroupItems": market_ungroupItems,
    }
)
