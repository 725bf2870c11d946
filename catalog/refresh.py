"""The writing half of the catalog refresh: Evotor objects in, cached rows out.

`catalog.services.catalog_refresh_for_user` drives it store by store. The rules that keep it
cheap at 10^5 products (figures in docs/benchmarks.md, "Evotor catalog refresh"):

- Pages are written as they stream in, `CHUNK_SIZE` objects at a time; the catalog is never
  held in memory, and existing rows are read per chunk only (one SELECT of id, hash, removed).
- A row is written only when Evotor's payload hash differs from the cached one, or the row was
  marked removed: a refresh with nothing changed issues no INSERT or UPDATE on the tables.
- Writes are upserts (`bulk_create(update_conflicts=True)`), one statement per chunk on MariaDB
  (SQLite: Django splits it at 999 bound parameters, ~40 products per statement).
- The ids Evotor returned go to a temporary table (`SeenIds`), and rows missing from it are
  marked removed only after the store's list was read to the end. A read that fails half way
  leaves every row either as it was or updated to what Evotor said: never removed by mistake.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection, models

from catalog.models import CachedGroup, CachedProduct, CachedStore

if TYPE_CHECKING:
    from connections.evotor_client import EvotorGroup, EvotorProduct

CHUNK_SIZE = 1000
# Bumped when the stored columns change, so the next refresh rewrites every row once.
HASH_VERSION = "1"

GROUP_FIELDS = ["parent_evotor_id", "name", "evotor_updated_at", "content_hash", "raw"]
PRODUCT_FIELDS = [
    "parent_evotor_id",
    "name",
    "type",
    "price",
    "cost_price",
    "quantity",
    "measure_name",
    "allow_to_sell",
    "description",
    "article_number",
    "code",
    "barcodes",
    "tax",
    "evotor_updated_at",
    "content_hash",
    "raw",
    "search_text",
]
# Columns an upsert rewrites besides the content: a reappearing row is un-removed.
STATE_FIELDS = ["is_removed", "removed_at", "last_seen_at"]


def content_hash(raw: dict) -> str:
    """A digest of Evotor's payload, independent of key order."""
    text = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{HASH_VERSION}:{text}".encode()).hexdigest()


def search_text(*parts: str) -> str:
    """What the product search matches: lower case, with ё read as е."""
    return " ".join(p for p in parts if p).casefold().replace("ё", "е")


def chunks(items: Iterable, size: int = CHUNK_SIZE) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def upsert(
    model: type[models.Model],
    rows: list[models.Model],
    update_fields: list[str],
    unique_fields: tuple[str, ...] = ("user", "store_evotor_id", "evotor_id"),
) -> None:
    """Insert or update `rows` on their Evotor key, one statement per batch."""
    kwargs: dict[str, Any] = {"update_conflicts": True, "update_fields": update_fields}
    # MariaDB upserts on whichever unique key collides and refuses an explicit target.
    if connection.features.supports_update_conflicts_with_target:
        kwargs["unique_fields"] = list(unique_fields)
    model.objects.bulk_create(rows, **kwargs)


class SeenIds:
    """The Evotor ids read during one pass over a store's list, in a temporary table.

    The removal pass needs every id Evotor returned. Kept in Python, 10^5 ids would add
    ~12 MB to the worker; in a temporary table memory stays flat, each page costs one
    `executemany`, and the table is private to the database session (no lock on the real
    tables, dropped on exit and by the server if the process dies).
    """

    def __init__(self, model: type[models.Model]):
        self.model = model
        self.table = f"catalog_seen_{uuid.uuid4().hex[:12]}"
        self.count = 0

    # Table and column names below are our own constants, never input: S608 does not apply.
    def __enter__(self) -> SeenIds:
        qn = connection.ops.quote_name
        source, table = qn(self.model._meta.db_table), qn(self.table)
        with connection.cursor() as cursor:
            if connection.vendor == "mysql":
                # The key must be declared here: CREATE INDEX would commit the transaction.
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {table} (KEY (evotor_id)) "  # noqa: S608
                    f"SELECT evotor_id FROM {source} WHERE 1 = 0"
                )
            else:
                # SQLite builds a transient index for `NOT IN (SELECT ...)` by itself.
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {table} AS SELECT evotor_id FROM {source} WHERE 1 = 0"  # noqa: S608
                )
        return self

    def add(self, ids: list[str]) -> None:
        if not ids:
            return
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {connection.ops.quote_name(self.table)} (evotor_id) VALUES (%s)",  # noqa: S608
                [(evotor_id,) for evotor_id in ids],
            )
        self.count += len(ids)

    def mark_missing_removed(self, queryset: models.QuerySet, *, now: datetime) -> int:
        """Mark the rows of `queryset` whose Evotor id was not seen as removed; returns how many."""
        column = f"{connection.ops.quote_name(self.model._meta.db_table)}.evotor_id"
        table = connection.ops.quote_name(self.table)
        not_seen = f"{column} NOT IN (SELECT evotor_id FROM {table})"  # noqa: S608
        missing = queryset.filter(is_removed=False).extra(where=[not_seen])  # noqa: S610
        # Look before writing: an UPDATE of no row still takes SQLite's write lock.
        if not missing.exists():
            return 0
        return missing.update(is_removed=True, removed_at=now)

    def __exit__(self, *exc_info) -> None:
        drop = "DROP TEMPORARY TABLE" if connection.vendor == "mysql" else "DROP TABLE"
        with connection.cursor() as cursor:
            cursor.execute(f"{drop} IF EXISTS {connection.ops.quote_name(self.table)}")


@dataclass
class PassCounts:
    read: int = 0
    written: int = 0
    removed: int = 0


def _existing(model, store: CachedStore, ids: list[str]) -> dict[str, tuple[str, bool]]:
    rows = model.objects.filter(
        user_id=store.user_id, store_evotor_id=store.evotor_id, evotor_id__in=ids
    ).values_list("evotor_id", "content_hash", "is_removed")
    return {evotor_id: (digest, removed) for evotor_id, digest, removed in rows}


def _changed(model, store: CachedStore, batch: list, make_row: Callable) -> list[models.Model]:
    """The rows of `batch` that are new, changed, or back after being removed."""
    latest = {item.id: item for item in batch}  # a repeated id: the last page wins
    existing = _existing(model, store, list(latest))
    rows = []
    for item in latest.values():
        digest = content_hash(item.raw)
        known = existing.get(item.id)
        if known is not None and known[0] == digest and not known[1]:
            continue
        rows.append(make_row(item, digest))
    return rows


def group_row(store: CachedStore, now: datetime) -> Callable[[EvotorGroup, str], CachedGroup]:
    def make(group: EvotorGroup, digest: str) -> CachedGroup:
        return CachedGroup(
            user_id=store.user_id,
            store=store,
            store_evotor_id=store.evotor_id,
            evotor_id=group.id,
            parent_evotor_id=group.parent_id or "",
            name=group.name[:255],
            evotor_updated_at=group.updated_at,
            content_hash=digest,
            raw=group.raw,
            is_removed=False,
            removed_at=None,
            first_seen_at=now,
            last_seen_at=now,
        )

    return make


def product_row(store: CachedStore, now: datetime) -> Callable[[EvotorProduct, str], CachedProduct]:
    def make(product: EvotorProduct, digest: str) -> CachedProduct:
        barcodes = [str(code) for code in product.barcodes]
        return CachedProduct(
            user_id=store.user_id,
            store=store,
            store_evotor_id=store.evotor_id,
            evotor_id=product.id,
            parent_evotor_id=product.parent_id or "",
            name=product.name[:255],
            type=product.type[:32],
            price=product.price,
            cost_price=product.cost_price,
            quantity=product.quantity,
            measure_name=product.measure_name[:32],
            allow_to_sell=product.allow_to_sell,
            description=product.description,
            article_number=product.article_number[:64],
            code=product.code[:64],
            barcodes=barcodes,
            tax=product.tax[:32],
            evotor_updated_at=product.updated_at,
            content_hash=digest,
            raw=product.raw,
            search_text=search_text(product.name, product.article_number, product.code, *barcodes),
            is_removed=False,
            removed_at=None,
            first_seen_at=now,
            last_seen_at=now,
        )

    return make


def _write_pass(
    model,
    store: CachedStore,
    items: Iterable,
    make_row: Callable,
    fields: list[str],
    *,
    now: datetime,
    on_chunk: Callable[[PassCounts], None] | None = None,
) -> PassCounts:
    counts = PassCounts()
    with SeenIds(model) as seen:
        for batch in chunks(items):
            rows = _changed(model, store, batch, make_row)
            if rows:
                upsert(model, rows, fields + STATE_FIELDS)
            seen.add([item.id for item in batch])
            counts.read += len(batch)
            counts.written += len(rows)
            if on_chunk:
                on_chunk(counts)
        # Only reached when the whole list was read: a failure above removes nothing.
        counts.removed = seen.mark_missing_removed(
            model.objects.filter(user_id=store.user_id, store_evotor_id=store.evotor_id),
            now=now,
        )
    return counts


def write_groups(store: CachedStore, groups: Iterable[EvotorGroup], *, now: datetime) -> PassCounts:
    """Upsert a store's groups as they stream in, then mark the vanished ones removed."""
    return _write_pass(CachedGroup, store, groups, group_row(store, now), GROUP_FIELDS, now=now)


def write_products(
    store: CachedStore,
    products: Iterable[EvotorProduct],
    *,
    now: datetime,
    on_chunk: Callable[[PassCounts], None] | None = None,
) -> PassCounts:
    """Upsert a store's products as they stream in, then mark the vanished ones removed."""
    return _write_pass(
        CachedProduct,
        store,
        products,
        product_row(store, now),
        PRODUCT_FIELDS,
        now=now,
        on_chunk=on_chunk,
    )
