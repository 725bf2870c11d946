"""After a targeted publish, the VK catalog cache is told what the run just wrote.

A whole run queues a re-read of the VK catalog (sync/publish/run.py), a few requests per
thousand items. A targeted run changes a handful of items, and at a stream of changes a re-read
after each would cost more VK requests than the changes themselves: instead the cached rows of
the items it wrote take the values VK accepted (name, description, prices, stock), so the VK catalog
pages show them at once. The next scheduled read brings VK's own copy, as after any edit.
Nothing here asks VK.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sync.models import ItemLink
from vk_catalog.models import VkCachedProduct

# Link field → cached VK item field, for the fields a publish sends and the pages show.
TEXT_FIELDS = {"name": "title", "description": "description"}
PRICE_FIELDS = {"price": "price", "old_price": "old_price"}


def _price(value) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def vk_cache_write_through(*, user, keys: set[tuple[str, str]], since) -> int:
    """Cached VK rows of the links among `keys` a run wrote since `since`; returns how many."""
    if not keys:
        return 0
    written = ItemLink.objects.filter(
        user=user, vk_item_id__isnull=False, product_id__in={product for _s, product in keys}
    )
    if since is not None:
        written = written.filter(updated_at__gte=since)
    links = [
        link
        for link in written.only("store_id", "product_id", "vk_item_id", "published_fields")
        if (link.store_id, link.product_id) in keys
    ]
    by_vk_id = {link.vk_item_id: link for link in links}
    rows = list(VkCachedProduct.objects.filter(user=user, vk_id__in=list(by_vk_id)))
    changed = []
    for row in rows:
        fields = by_vk_id[row.vk_id].published_fields or {}
        for name, column in TEXT_FIELDS.items():
            if fields.get(name):
                setattr(row, column, fields[name])
        for name, column in PRICE_FIELDS.items():
            if name in fields and (column != "price" or _price(fields[name]) is not None):
                setattr(row, column, _price(fields[name]))
        if "stock_amount" in fields:
            # A sale at the till: the count VK now shows (−1: none shown).
            stock = fields["stock_amount"]
            row.stock_amount = stock if isinstance(stock, int) and stock >= 0 else None
        changed.append(row)
    if changed:
        VkCachedProduct.objects.bulk_update(
            changed, [*TEXT_FIELDS.values(), *PRICE_FIELDS.values(), "stock_amount"]
        )
    return len(changed)
