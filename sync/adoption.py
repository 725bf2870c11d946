"""Adoption: linking products to VK items that already exist instead of creating duplicates.

Two uses (competitors.md §3.1: duplicates and lost links are merchants' first complaint):
- the first sync finds the merchant's hand-made VK items with the same sku (else the same
  name) and adopts them;
- a `market.add` whose answer was lost (timeout, killed worker) left its link in state
  `creating` with the sku we sent: the next run looks for that sku in VK and adopts the item
  if VK made it, or creates it again if not (VK has no dedup key of its own,
  vk-market-api.md §11).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from sync.models import ItemLink, LinkState, RunAction, RunItemStatus, SyncRun, SyncRunItem
from sync.rules import DesiredItem, clean_line, price_text


@dataclass(frozen=True)
class VkItemSnapshot:
    """A VK item as the VK catalog cache (or `market.get`) knows it."""

    vk_id: int
    title: str
    sku: str = ""
    description: str = ""
    price: Decimal | None = None
    old_price: Decimal | None = None
    category_id: int | None = None
    availability: int = 0
    album_ids: tuple[int, ...] = ()

    @property
    def hidden(self) -> bool:
        return self.availability != 0

    def as_fields(self) -> dict:
        """Its VK fields in the shape the rules produce (prices as roubles text)."""
        return {
            "name": self.title,
            "description": self.description,
            "price": price_text(self.price),
            "old_price": price_text(self.old_price) if self.old_price else None,
            "category_id": self.category_id,
            "sku": self.sku,
        }

    @classmethod
    def from_cached(cls, row) -> VkItemSnapshot:
        """From a `vk_catalog.models.VkCachedProduct`."""
        return cls(
            vk_id=row.vk_id,
            title=row.title,
            sku=row.sku or "",
            description=row.description or "",
            price=row.price,
            old_price=row.old_price,
            category_id=row.category_id,
            availability=row.availability,
            album_ids=tuple(int(a) for a in row.album_ids or ()),
        )

    @classmethod
    def from_vk(cls, item) -> VkItemSnapshot:
        """From a `connections.vk_client.VkItem`."""
        return cls(
            vk_id=item.id,
            title=item.title,
            sku=item.sku or "",
            description=item.description or "",
            price=item.price,
            old_price=item.old_price,
            category_id=item.category_id,
            availability=item.availability,
            album_ids=tuple(item.album_ids),
        )


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


def resolve_creating_links(
    *, run: SyncRun, links: list[ItemLink], vk_items: list[VkItemSnapshot], managed_albums: set[int]
) -> tuple[int, int]:
    """Links left `creating` (answer lost, worker killed): adopt the VK item with their sku if VK
    made it, else send them back to be created. Returns (found, not found)."""
    taken = set(
        ItemLink.objects.filter(user_id=run.user_id, vk_item_id__isnull=False).values_list(
            "vk_item_id", flat=True
        )
    )
    found = missing = 0
    now = timezone.now()
    rows = []
    for link in sorted(links, key=lambda lk: lk.pk):
        vk = find_by_sku(link.sku, vk_items, exclude=taken)
        if vk is None:
            link.state = LinkState.PENDING
            link.published_fields = {}
            link.photo_hash = ""
            missing += 1
            continue
        taken.add(vk.vk_id)
        found += 1
        link.vk_item_id = vk.vk_id
        link.state = LinkState.HIDDEN if vk.hidden else LinkState.PUBLISHED
        link.published_fields = {**vk.as_fields(), "hidden": vk.hidden}
        link.content_hash = ""
        link.album_ids = sorted(set(vk.album_ids) & managed_albums)
        link.published_at = link.published_at or now
        link.last_error = ""
        link.error_count = 0
        rows.append(
            SyncRunItem(
                run=run,
                link=link,
                store_id=link.store_id,
                product_id=link.product_id,
                product_name=link.product_name,
                action=RunAction.CREATE,
                status=RunItemStatus.OK,
                changes={"vk_item_id": [None, vk.vk_id]},
            )
        )
    with transaction.atomic():
        ItemLink.objects.bulk_update(
            links,
            [
                "vk_item_id",
                "state",
                "published_fields",
                "content_hash",
                "photo_hash",
                "album_ids",
                "published_at",
                "last_error",
                "error_count",
            ],
            batch_size=200,
        )
        SyncRunItem.objects.bulk_create(rows)
    run.created += found
    return found, missing
