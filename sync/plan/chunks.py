"""Reading a whole plan's products and links in chunks, so its memory does not grow with the
catalog (issue 10 item 4).

A whole plan walks the selected products by primary key, a chunk at a time, with the links of
that chunk's products only; a product known unchanged (sync/plan/skip.py) is counted and
dropped with its link, so a no-change cycle holds one chunk at a time. What needs the whole
catalog is asked of the database instead of being held: the links of products no longer
selected (an anti-join), the stores the links are in, and the skus the skipped items carry
(looked up for the skus a plan is about to give, `reserved_skus`).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from catalog.models import CachedProduct
from sync.models import ItemLink

Key = tuple[str, str]

DEFAULT_CHUNK = 2000


def chunk_size() -> int:
    """Products per chunk (`SYNC_PLAN_CHUNK`): a few thousand keeps each chunk's query and its
    link lookup (an `IN` list) small on SQLite and MariaDB alike."""
    return max(1, int(getattr(settings, "SYNC_PLAN_CHUNK", DEFAULT_CHUNK)))


def keys_q(keys, store_field: str, id_field: str) -> Q:
    """One condition matching exactly these (store, id) pairs: per store an `IN` list."""
    by_store: dict[str, list[str]] = {}
    for store_id, product_id in sorted(keys):
        by_store.setdefault(store_id, []).append(product_id)
    condition = Q(pk__in=[])
    for store_id, ids in by_store.items():
        condition |= Q(**{store_field: store_id, f"{id_field}__in": ids})
    return condition


def product_chunks(
    user, selected: QuerySet, columns: tuple[str, ...]
) -> Iterator[tuple[list[dict], dict[Key, ItemLink]]]:
    """(rows, their links by key) for the `selected` products, `chunk_size()` rows at a time in
    primary-key order (a keyset walk: each chunk is one indexed query, whatever the offset)."""
    size = chunk_size()
    last = 0
    while True:
        rows = list(selected.filter(pk__gt=last).order_by("pk").values("pk", *columns)[:size])
        if not rows:
            return
        last = rows[-1]["pk"]
        keys = {(row["store_evotor_id"], row["evotor_id"]) for row in rows}
        links = {
            (link.store_id, link.product_id): link
            for link in ItemLink.objects.filter(user=user).filter(
                keys_q(keys, "store_id", "product_id")
            )
        }
        yield rows, links
        if len(rows) < size:
            return


def unselected_links(user, selected: QuerySet) -> list[ItemLink]:
    """The merchant's links whose product is not among `selected` (filtered out, removed at
    the till, or gone from the cache): the plan hides, deletes or drops their items."""
    same = selected.filter(store_evotor_id=OuterRef("store_id"), evotor_id=OuterRef("product_id"))
    return list(ItemLink.objects.filter(user=user).exclude(Exists(same)))


def linked_vk_ids(user_id: int) -> set[int]:
    """The VK items the merchant's links hold (asked only when a plan looks for adoptions)."""
    return set(
        ItemLink.objects.filter(user_id=user_id, vk_item_id__isnull=False)
        .values_list("vk_item_id", flat=True)
        .iterator(chunk_size=chunk_size())
    )


def link_store_ids(user) -> set[str]:
    return set(ItemLink.objects.filter(user=user).values_list("store_id", flat=True).distinct())


def removed_keys(user, unselected: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Of the products no longer selected, those removed at the till (marked removed in the
    cache, or gone from it altogether); the others were filtered out."""
    stores = sorted({key[0] for key in unselected})
    removed = {
        (store_id, product_id)
        for store_id, product_id in CachedProduct.objects.filter(
            user=user, is_removed=True, store_evotor_id__in=stores
        ).values_list("store_evotor_id", "evotor_id")
    } & unselected
    present = set(
        CachedProduct.objects.filter(user=user, store_evotor_id__in=stores)
        .filter(keys_q(unselected, "store_evotor_id", "evotor_id"))
        .values_list("store_evotor_id", "evotor_id")
    )
    return removed | {key for key in unselected if key not in present}


def reserved_skus(user, candidates: set[str], *, besides: set[Key]) -> set[str]:
    """Of the skus `candidates` (lower case), those carried by a link other than `besides`'s
    (the items skipped as unchanged, which nobody else may take). The links' skus are
    streamed, never held."""
    if not candidates:
        return set()
    reserved = set()
    for store_id, product_id, sku in (
        ItemLink.objects.filter(user=user)
        .exclude(sku="")
        .values_list("store_id", "product_id", "sku")
        .iterator(chunk_size=chunk_size())
    ):
        lowered = sku.lower()
        if lowered in candidates and (store_id, product_id) not in besides:
            reserved.add(lowered)
    return reserved
