"""Adoption: linking products to VK items that already exist instead of creating duplicates.

Two uses (docs/contracts/competitors.md §3.1: duplicates and lost links are merchants' first complaint):
- the first sync finds the merchant's hand-made VK items with the same sku (else the same
  name) and adopts them;
- a `market.add` whose answer was lost (timeout, killed worker) left its link in state
  `creating` with the sku we sent: the next run looks for that sku in VK (`find_by_sku`,
  sync/publish/recovery.py) and adopts the item if VK made it, or creates it again if not (VK
  has no dedup key of its own, docs/contracts/vk-market-api.md §11).

Matching only: what an adoption writes on the link is sync.publish.links.adopt.
"""

from __future__ import annotations

from collections import defaultdict

from sync.plan.rules import DesiredItem, clean_line
from sync.plan.snapshots import VkItemSnapshot


def sku_key(sku: str) -> str:
    return clean_line(sku or "").casefold()


def name_key(name: str) -> str:
    return clean_line(name or "").casefold()


def _unique(index: dict[str, list]) -> dict[str, object]:
    return {key: values[0] for key, values in index.items() if key and len(values) == 1}


def match_adoptions(
    candidates: list[DesiredItem], vk_items: list[VkItemSnapshot]
) -> dict[tuple[str, str], VkItemSnapshot]:
    """{product key: VK item to adopt}: same sku first, else the same name.

    A sku shared by several VK items adopts the oldest (lowest id) of them; a name is only
    trusted when exactly one product and exactly one VK item carry it. Each VK item is adopted
    at most once.
    """
    result: dict[tuple[str, str], VkItemSnapshot] = {}
    taken: set[int] = set()
    by_sku: dict[str, list[VkItemSnapshot]] = defaultdict(list)
    for vk in sorted(vk_items, key=lambda v: v.vk_id):
        if vk.sku:
            by_sku[sku_key(vk.sku)].append(vk)
    for item in candidates:
        matches = [
            vk
            for vk in by_sku.get(sku_key(item.fields.get("sku", "")), [])
            if vk.vk_id not in taken
        ]
        if matches:
            result[item.key] = matches[0]
            taken.add(matches[0].vk_id)

    rest = [item for item in candidates if item.key not in result]
    vk_by_name: dict[str, list[VkItemSnapshot]] = defaultdict(list)
    for vk in vk_items:
        if vk.vk_id not in taken:
            vk_by_name[name_key(vk.title)].append(vk)
    products_by_name: dict[str, list[DesiredItem]] = defaultdict(list)
    for item in rest:
        names = {name_key(item.fields.get("name", "")), name_key(item.product_name)}
        for name in names:
            products_by_name[name].append(item)
    unique_vk = _unique(vk_by_name)
    unique_products = _unique(products_by_name)
    for name, item in unique_products.items():
        vk = unique_vk.get(name)
        if vk is None or vk.vk_id in taken or item.key in result:
            continue
        result[item.key] = vk
        taken.add(vk.vk_id)
    return result


def find_by_sku(
    sku: str, vk_items: list[VkItemSnapshot], *, exclude: set[int]
) -> VkItemSnapshot | None:
    """The VK item carrying `sku` that no link holds yet (the oldest if several)."""
    wanted = sku_key(sku)
    matches = sorted(
        (vk for vk in vk_items if sku_key(vk.sku) == wanted and vk.vk_id not in exclude),
        key=lambda v: v.vk_id,
    )
    return matches[0] if matches else None
