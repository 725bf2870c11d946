"""Single changes from Evotor applied to the cached catalog (issue 10 items 1–2).

A push, a pulled event or an incremental (`since`) read names one product or group. Applying
it upserts that one row, marks the product dirty for publishing (`DirtyProduct`), notes when
the merchant's last change arrived (`CatalogFreshness`) and tells publishing
(`catalog.signals.catalog_changed`). The full refresh (`catalog.services`) stays the
reconciliation: it reads everything and catches whatever these paths missed.

Events may come twice, late or out of order (docs/contracts/evotor-api.md §7.5: retried until answered, from
two channels). Applying is idempotent: a payload identical to the cached one changes nothing,
and one older than the cached row (Evotor's `updated_at`) is stale and ignored, so a replayed
or reordered event never undoes a newer change.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog import refresh
from catalog.models import CachedGroup, CachedProduct, CachedStore, CatalogFreshness, DirtyProduct
from catalog.signals import catalog_changed
from connections.evotor_client import EvotorClient, EvotorError, EvotorGroup, EvotorProduct
from connections.models import EvotorConnection

logger = logging.getLogger(__name__)

APPLIED = "applied"
UNCHANGED = "unchanged"
STALE = "stale"
UNKNOWN_STORE = "unknown_store"


def _store(user, store_evotor_id: str) -> CachedStore | None:
    """The merchant's cached store; a store not read yet waits for the next full refresh."""
    return CachedStore.objects.filter(
        user=user, evotor_id=store_evotor_id, is_removed=False
    ).first()


def _older(incoming: datetime | None, cached: datetime | None) -> bool:
    return incoming is not None and cached is not None and incoming < cached


def _mark_dirty(*, user, store_evotor_id: str, product_ids: list[str], now: datetime) -> None:
    rows = [
        DirtyProduct(
            user=user, store_evotor_id=store_evotor_id, product_evotor_id=pid, changed_at=now
        )
        for pid in product_ids
    ]
    refresh.upsert(
        DirtyProduct,
        rows,
        ["changed_at"],
        unique_fields=("user", "store_evotor_id", "product_evotor_id"),
    )


def _touch_freshness(*, user, now: datetime, count: int = 1) -> None:
    updated = CatalogFreshness.objects.filter(user=user).update(
        last_change_at=now, changes=F("changes") + count
    )
    if not updated:
        CatalogFreshness.objects.get_or_create(
            user=user, defaults={"last_change_at": now, "changes": count}
        )


def _changed(*, user, store_evotor_id: str, product_ids: list[str], now: datetime) -> None:
    if product_ids:
        _mark_dirty(user=user, store_evotor_id=store_evotor_id, product_ids=product_ids, now=now)
    _touch_freshness(user=user, now=now)


def catalog_changes_announce(*, user, products: int, groups: bool = False) -> None:
    """Tell publishing the merchant's catalog changed (`groups`: a product group changed, which
    can rename or move albums); a failing receiver is only logged."""
    for receiver, response in catalog_changed.send_robust(
        sender=CachedProduct, user=user, products=products, groups=groups
    ):
        if isinstance(response, Exception):
            logger.error(
                "catalog_changed receiver failed",
                exc_info=response,
                extra={"user_id": user.pk, "receiver": getattr(receiver, "__name__", "")},
            )


def dirty_products_clear(*, user, seen: dict[tuple[str, str], datetime]) -> int:
    """Forget the changed products a publish has sent: `seen` maps (store, product) to the
    `changed_at` the publish read. Compare-and-delete: a product changed again since (a newer
    `changed_at`) stays marked and goes with the next publish. Returns how many were cleared."""
    by_time: dict[datetime, list[tuple[str, str]]] = {}
    for key, changed_at in seen.items():
        by_time.setdefault(changed_at, []).append(key)
    cleared = 0
    for changed_at, keys in by_time.items():
        for start in range(0, len(keys), 500):
            condition = Q(pk__in=[])
            for store_id, product_id in keys[start : start + 500]:
                condition |= Q(store_evotor_id=store_id, product_evotor_id=product_id)
            cleared += (
                DirtyProduct.objects.filter(user=user, changed_at=changed_at)
                .filter(condition)
                .delete()[0]
            )
    return cleared


def dirty_products_clear_through(*, user, read_at: datetime) -> int:
    """Forget the changes a whole-catalog run read (marked no later than `read_at`, when it
    read the catalog). A change marked after that stays for the next publish."""
    return DirtyProduct.objects.filter(user=user, changed_at__lte=read_at).delete()[0]


def _upsert_one(model, row_for, fields, *, user, store, entity, now) -> str:
    """Upsert one product or group Evotor says was created or updated; returns the outcome.

    An event older than what the cache holds changes nothing (events arrive out of order); one
    carrying the payload the cache already has is UNCHANGED."""
    cached = (
        model.objects.select_for_update()
        .filter(user=user, store_evotor_id=store.evotor_id, evotor_id=entity.id)
        .first()
    )
    digest = refresh.content_hash(entity.raw)
    if cached is not None:
        if _older(entity.updated_at, cached.evotor_updated_at):
            return STALE
        if cached.content_hash == digest and not cached.is_removed:
            return UNCHANGED
    row = row_for(store, now)(entity, digest)
    if cached is not None:
        row.first_seen_at = cached.first_seen_at
    refresh.upsert(model, [row], fields + refresh.STATE_FIELDS)
    return APPLIED


def _remove_one(model, *, user, store_evotor_id: str, evotor_id: str, occurred_at, now) -> str:
    """Mark one product or group removed in Evotor (a `removed` event); returns the outcome."""
    cached = (
        model.objects.select_for_update()
        .filter(user=user, store_evotor_id=store_evotor_id, evotor_id=evotor_id)
        .first()
    )
    if cached is None or cached.is_removed:
        return UNCHANGED
    # It changed after the removal was sent: it was created again; keep it.
    if _older(occurred_at, cached.evotor_updated_at):
        return STALE
    cached.is_removed, cached.removed_at = True, now
    # The removal's time becomes the row's: an update sent before it, arriving after it, is
    # then older and cannot bring it back.
    cached.evotor_updated_at = max(
        filter(None, (occurred_at, cached.evotor_updated_at)), default=None
    )
    cached.save(update_fields=["is_removed", "removed_at", "evotor_updated_at"])
    return APPLIED


@transaction.atomic
def catalog_product_apply(*, user, product: EvotorProduct, now: datetime | None = None) -> str:
    """Upsert one product Evotor says was created or updated (§5.2 payload); returns the outcome."""
    now = now or timezone.now()
    store = _store(user, product.store_id)
    if store is None:
        return UNKNOWN_STORE
    outcome = _upsert_one(
        CachedProduct,
        refresh.product_row,
        refresh.PRODUCT_FIELDS,
        user=user,
        store=store,
        entity=product,
        now=now,
    )
    if outcome == APPLIED:
        _changed(user=user, store_evotor_id=store.evotor_id, product_ids=[product.id], now=now)
    return outcome


@transaction.atomic
def catalog_product_remove(
    *, user, store_evotor_id: str, product_id: str, occurred_at: datetime | None
) -> str:
    """Mark one product removed in Evotor (a `removed` event); returns the outcome."""
    now = timezone.now()
    if _store(user, store_evotor_id) is None:
        return UNKNOWN_STORE
    outcome = _remove_one(
        CachedProduct,
        user=user,
        store_evotor_id=store_evotor_id,
        evotor_id=product_id,
        occurred_at=occurred_at,
        now=now,
    )
    if outcome == APPLIED:
        _changed(user=user, store_evotor_id=store_evotor_id, product_ids=[product_id], now=now)
    return outcome


@transaction.atomic
def catalog_product_image_changed(*, user, store_evotor_id: str, product_id: str) -> str:
    """A product's picture was added, replaced or removed (`ProductImageEvent`): the product is
    dirty, and `images_changed_at` tells publishing to read its image list again (the product's
    payload, and so its content hash, stays as it was)."""
    now = timezone.now()
    updated = CachedProduct.objects.filter(
        user=user, store_evotor_id=store_evotor_id, evotor_id=product_id
    ).update(images_changed_at=now)
    if not updated:
        return UNKNOWN_STORE if _store(user, store_evotor_id) is None else UNCHANGED
    _changed(user=user, store_evotor_id=store_evotor_id, product_ids=[product_id], now=now)
    return APPLIED


@transaction.atomic
def catalog_group_apply(*, user, group: EvotorGroup, now: datetime | None = None) -> str:
    """Upsert one product group Evotor says was created or updated (§5.3)."""
    now = now or timezone.now()
    store = _store(user, group.store_id)
    if store is None:
        return UNKNOWN_STORE
    outcome = _upsert_one(
        CachedGroup,
        refresh.group_row,
        refresh.GROUP_FIELDS,
        user=user,
        store=store,
        entity=group,
        now=now,
    )
    if outcome == APPLIED:
        # A group's name is its VK album: no product payload changed, publishing replans albums.
        _changed(user=user, store_evotor_id=store.evotor_id, product_ids=[], now=now)
    return outcome


@transaction.atomic
def catalog_group_remove(
    *, user, store_evotor_id: str, group_id: str, occurred_at: datetime | None
) -> str:
    """Mark one product group removed in Evotor."""
    now = timezone.now()
    if _store(user, store_evotor_id) is None:
        return UNKNOWN_STORE
    outcome = _remove_one(
        CachedGroup,
        user=user,
        store_evotor_id=store_evotor_id,
        evotor_id=group_id,
        occurred_at=occurred_at,
        now=now,
    )
    if outcome == APPLIED:
        _changed(user=user, store_evotor_id=store_evotor_id, product_ids=[], now=now)
    return outcome


@dataclass
class ChangesReadResult:
    """What one incremental read found; `status` is "ok", "skipped" or "failed"."""

    status: str
    stores: int = 0
    read: int = 0
    applied: int = 0
    groups_applied: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def catalog_changes_read(*, user) -> ChangesReadResult:
    """Read the products and groups changed since the last read, store by store (§3.1 `since`).

    For deployments with neither push nor pull. Shares the full refresh's lock (a full read in
    progress sees these changes anyway). A store never read in full is left to the full
    refresh; removals are invisible to `since` reads (§4) and wait for the full refresh too.
    """
    from catalog.services import refresh_lock

    connection = EvotorConnection.objects.filter(user=user).first()
    if connection is None or not connection.is_usable:
        return ChangesReadResult(status="skipped")
    with refresh_lock(user.pk) as acquired:
        if not acquired:
            return ChangesReadResult(status="skipped")
        result = ChangesReadResult(status="ok")
        client = EvotorClient(connection.cloud_token)
        stores = CachedStore.objects.filter(
            user=user, is_removed=False, is_accessible=True, catalog_refreshed_at__isnull=False
        )
        try:
            for store in stores:
                _read_store(client, store, user=user, result=result)
        except EvotorError as exc:
            # The next read asks again from the same point; nothing is lost.
            logger.warning(
                "incremental Evotor read failed",
                extra={"user_id": user.pk, "error": type(exc).__name__},
            )
            result.status = "failed"
    if result.applied:
        catalog_changes_announce(
            user=user, products=result.applied, groups=result.groups_applied > 0
        )
    return result


def _read_store(client: EvotorClient, store: CachedStore, *, user, result) -> None:
    since = store.changes_read_through or store.catalog_refreshed_at
    newest = since
    for group in client.iter_groups(store.evotor_id, since=since):
        result.read += 1
        if catalog_group_apply(user=user, group=group) == APPLIED:
            result.applied += 1
            result.groups_applied += 1
        newest = max(filter(None, (newest, group.updated_at)), default=newest)
    for product in client.iter_products(store.evotor_id, since=since):
        result.read += 1
        if catalog_product_apply(user=user, product=product) == APPLIED:
            result.applied += 1
        newest = max(filter(None, (newest, product.updated_at)), default=newest)
    result.stores += 1
    # `since` is inclusive: the newest row is read again next time and found unchanged.
    CachedStore.objects.filter(pk=store.pk).update(changes_read_through=newest)
