"""Writes of the catalog app: refreshing a merchant's cached Evotor catalog, and asking for it.

Implements the read side of docs/contracts/evotor-api.md §3.1 (stores → product groups → products of each
store, cursor-paged 1000 at a time, §4). How rows are written is in `catalog.refresh`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from catalog import refresh
from catalog.models import (
    CachedGroup,
    CachedProduct,
    CachedStore,
    CatalogRefresh,
    RefreshStatus,
    RefreshTrigger,
)
from catalog.signals import catalog_refreshed
from connections.evotor_client import (
    EvotorAuthError,
    EvotorClient,
    EvotorError,
    EvotorRateLimited,
    EvotorStoreUnavailable,
)
from connections.evotor_services import (
    evotor_connection_mark_broken,
    evotor_connection_mark_ok,
    evotor_error_message,
)
from connections.models import EvotorConnection
from evosync.locks import cache_lock
from evosync.runs import run_enqueue, run_interrupt_others, run_live

logger = logging.getLogger(__name__)

# How many past runs a merchant's history keeps.
KEEP_REFRESHES = 50


@dataclass
class CatalogRefreshResult:
    """What one refresh did; `status` is "ok", "failed" or "skipped" (another run holds the lock)."""

    status: str
    refresh_id: int | None = None
    stores: int = 0
    stores_skipped: int = 0
    groups: int = 0
    groups_written: int = 0
    groups_removed: int = 0
    products: int = 0
    products_written: int = 0
    products_removed: int = 0
    error: str = ""
    skipped_store_ids: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == RefreshStatus.OK

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RefreshProgress:
    """A step of a running refresh, for `manage.py refresh_catalog` to print.

    `stage` is "store" (starting one), "products" (a page of products written), "skipped"
    (Evotor refused this store) or "store_done".
    """

    stage: str
    store_name: str
    groups: int = 0
    products: int = 0


class _RefreshFailed(Exception):
    """Ends a run with a message for the merchant (already translated)."""


def lock_key(user_id: int) -> str:
    return f"lock:catalog-refresh:{user_id}"


def refresh_lock(user_id: int):
    """The user's refresh lock (evosync.locks.cache_lock): yields whether this process holds it."""
    return cache_lock(lock_key(user_id))


def catalog_refresh_for_user(
    *,
    user,
    trigger: str = RefreshTrigger.AUTO,
    progress: Callable[[RefreshProgress], None] | None = None,
) -> CatalogRefreshResult:
    """Read the user's Evotor stores, groups and products into the cache.

    Never overlaps with another refresh of the same user (returns status "skipped"). Stores
    Evotor refuses with 402/403 are skipped and keep their cached rows; a 401 marks the
    Evotor connection broken; an Evotor outage fails the run without removing anything.
    Every run is a `CatalogRefresh` row; success sends `catalog.signals.catalog_refreshed`.
    """
    with refresh_lock(user.pk) as acquired:
        if not acquired:
            logger.info("catalog refresh already running", extra={"user_id": user.pk})
            return CatalogRefreshResult(status="skipped")
        # Messages stored for the merchant are written in the site's language.
        with translation.override(settings.LANGUAGE_CODE):
            return _refresh_locked(user=user, trigger=trigger, progress=progress)


def _claim_run(*, user, trigger: str, now: datetime) -> CatalogRefresh:
    """Turn the user's latest queued request into the running row (or start a new one)."""
    # We hold the lock, so a row still "running" belongs to a worker that died.
    run_interrupt_others(CatalogRefresh.objects.filter(user=user))
    run = CatalogRefresh.objects.filter(user=user, status=RefreshStatus.QUEUED).first()
    if run is None:
        return CatalogRefresh.objects.create(
            user=user,
            trigger=trigger,
            status=RefreshStatus.RUNNING,
            requested_at=now,
            started_at=now,
        )
    # Requests queued before this run starts are all answered by it.
    CatalogRefresh.objects.filter(user=user, status=RefreshStatus.QUEUED).exclude(
        pk=run.pk
    ).delete()
    run.status, run.started_at = RefreshStatus.RUNNING, now
    run.save(update_fields=["status", "started_at"])
    return run


def _refresh_locked(*, user, trigger, progress) -> CatalogRefreshResult:
    now = timezone.now()
    run = _claim_run(user=user, trigger=trigger, now=now)
    result = CatalogRefreshResult(status=RefreshStatus.RUNNING, refresh_id=run.pk)
    connection = _evotor_connection(user)
    try:
        if connection is None or not connection.is_usable:
            raise _RefreshFailed(
                _("Evotor is not connected. Connect it to read the catalog from the till.")
            )
        client = EvotorClient(connection.cloud_token)
        for store in _write_stores(user=user, stores=client.list_stores(), now=now):
            _refresh_store(client, store, run=run, result=result, progress=progress, now=now)
    except _RefreshFailed as exc:
        _finish(run, result, status=RefreshStatus.FAILED, error=str(exc))
    except EvotorAuthError as exc:
        message = evotor_error_message(exc)
        evotor_connection_mark_broken(connection, message)
        _finish(run, result, status=RefreshStatus.FAILED, error=message)
    except EvotorRateLimited:
        message = _(
            "Evotor asked to slow down and the catalog could not be read completely. "
            "It will be read again at the next refresh."
        )
        _finish(run, result, status=RefreshStatus.FAILED, error=message)
    except EvotorError:
        message = _(
            "Evotor did not answer properly, even after several tries. Nothing was removed "
            "from the catalog; it will be read again at the next refresh."
        )
        _finish(run, result, status=RefreshStatus.FAILED, error=message)
    except BaseException:
        # Includes django-q2's timeout: the merchant sees the run ended, the task its error.
        logger.exception("catalog refresh crashed", extra={"user_id": user.pk})
        _finish(
            run,
            result,
            status=RefreshStatus.FAILED,
            error=_("The refresh stopped because of an internal error; we have logged it."),
        )
        raise
    else:
        evotor_connection_mark_ok(connection)
        _finish(run, result, status=RefreshStatus.OK)
        _send_refreshed(user=user, result=result)
    logger.info("catalog refresh finished", extra={"user_id": user.pk, **result.as_dict()})
    return result


def _refresh_store(client, store, *, run, result, progress, now) -> None:
    """Groups, then products of one store; a store Evotor refuses is skipped, rows untouched."""
    if progress:
        progress(RefreshProgress("store", store.name))
    before = (result.products, result.products_written)

    def on_chunk(counts: refresh.PassCounts) -> None:
        result.products = before[0] + counts.read
        result.products_written = before[1] + counts.written
        _save_counts(run, result)
        if progress:
            progress(RefreshProgress("products", store.name, products=counts.read))

    try:
        groups = refresh.write_groups(store, client.iter_groups(store.evotor_id), now=now)
        products = refresh.write_products(
            store, client.iter_products(store.evotor_id), now=now, on_chunk=on_chunk
        )
    except EvotorStoreUnavailable:
        # The app is not installed or paid on this store's devices (§6.1): not an error.
        logger.debug(
            "Evotor store unavailable, skipped",
            extra={"user_id": store.user_id, "store": store.evotor_id},
        )
        result.products, result.products_written = before
        result.stores_skipped += 1
        result.skipped_store_ids.append(store.evotor_id)
        if store.is_accessible:
            CachedStore.objects.filter(pk=store.pk).update(is_accessible=False)
        if progress:
            progress(RefreshProgress("skipped", store.name))
        return
    result.stores += 1
    result.groups += groups.read
    result.groups_written += groups.written
    result.groups_removed += groups.removed
    result.products_removed += products.removed
    CachedStore.objects.filter(pk=store.pk).update(catalog_refreshed_at=now, is_accessible=True)
    _save_counts(run, result)
    if progress:
        progress(
            RefreshProgress("store_done", store.name, groups=groups.read, products=products.read)
        )


def _save_counts(run: CatalogRefresh, result: CatalogRefreshResult, **fields) -> None:
    """Live counts on the run's row, so the stores page can show progress."""
    CatalogRefresh.objects.filter(pk=run.pk).update(
        stores=result.stores,
        stores_skipped=result.stores_skipped,
        groups=result.groups,
        products=result.products,
        products_written=result.products_written,
        products_removed=result.products_removed,
        **fields,
    )


def _send_refreshed(*, user, result: CatalogRefreshResult) -> None:
    """Tell publishing; a failing receiver is logged and never fails the refresh."""
    for receiver, response in catalog_refreshed.send_robust(
        sender=CatalogRefresh, user=user, result=result
    ):
        if isinstance(response, Exception):
            logger.error(
                "catalog_refreshed receiver failed",
                exc_info=response,
                extra={"user_id": user.pk, "receiver": getattr(receiver, "__name__", "")},
            )


def _finish(run: CatalogRefresh, result: CatalogRefreshResult, *, status: str, error: str = ""):
    result.status, result.error = status, error
    _save_counts(run, result, status=status, finished_at=timezone.now(), error=error)
    oldest_kept = (
        CatalogRefresh.objects.filter(user_id=run.user_id)
        .order_by("-pk")
        .values_list("pk", flat=True)[KEEP_REFRESHES - 1 : KEEP_REFRESHES]
    )
    if oldest_kept:
        CatalogRefresh.objects.filter(user_id=run.user_id, pk__lt=oldest_kept[0]).delete()


def _evotor_connection(user) -> EvotorConnection | None:
    return EvotorConnection.objects.filter(user=user).first()


def _write_stores(*, user, stores, now: datetime) -> list[CachedStore]:
    """Upsert the stores Evotor listed and mark the vanished ones (and their catalog) removed.

    Returns the listed stores' rows in Evotor's order.
    """
    existing = {store.evotor_id: store for store in CachedStore.objects.filter(user=user)}
    changed = []
    for store in stores:
        old = existing.get(store.id)
        current = (store.name[:255], store.address, store.updated_at, False)
        if old and (old.name, old.address, old.evotor_updated_at, old.is_removed) == current:
            continue
        changed.append(
            CachedStore(
                user=user,
                evotor_id=store.id,
                name=store.name[:255],
                address=store.address,
                evotor_updated_at=store.updated_at,
                is_removed=False,
                removed_at=None,
                first_seen_at=now,
                last_seen_at=now,
            )
        )
    if changed:
        refresh.upsert(
            CachedStore,
            changed,
            ["name", "address", "evotor_updated_at", "is_removed", "removed_at", "last_seen_at"],
            unique_fields=("user", "evotor_id"),
        )
    listed = list(dict.fromkeys(store.id for store in stores))
    listed_set = set(listed)
    vanished = [
        row.pk
        for evotor_id, row in existing.items()
        if evotor_id not in listed_set and not row.is_removed
    ]
    if vanished:
        with transaction.atomic():
            CachedStore.objects.filter(pk__in=vanished).update(is_removed=True, removed_at=now)
            for model in (CachedGroup, CachedProduct):
                model.objects.filter(store_id__in=vanished, is_removed=False).update(
                    is_removed=True, removed_at=now
                )
    rows = {
        row.evotor_id: row for row in CachedStore.objects.filter(user=user, evotor_id__in=listed)
    }
    return [rows[evotor_id] for evotor_id in listed]


@transaction.atomic
def catalog_refresh_request(*, user) -> tuple[CatalogRefresh, bool]:
    """Queue a refresh the merchant asked for; returns (run, created).

    While one is queued or running (and alive: `evosync.runs.run_live`) no second one is
    queued: the merchant sees the pending one. The task is sent after commit; if the queue
    does not take it, the new row is failed at once and says so (read it again to tell).
    """
    active = run_live(CatalogRefresh.objects.filter(user=user))
    if active is not None:
        return active, False
    run = CatalogRefresh.objects.create(
        user=user,
        trigger=RefreshTrigger.MANUAL,
        status=RefreshStatus.QUEUED,
        requested_at=timezone.now(),
    )
    run_enqueue(run)
    return run, True


@transaction.atomic
def catalog_delete_for_user(*, user) -> int:
    """Forget the merchant's cached Evotor catalog and refresh history (Evotor was
    disconnected: the rows were read with a token that is gone). Returns how many products
    were deleted.

    The store and group switches (`SyncFilter`) stay: they are the merchant's choice, keyed by
    Evotor ids, and apply again when the same stores come back after a reconnect.
    """
    deleted, _by_model = CachedProduct.objects.filter(user=user).delete()
    CachedGroup.objects.filter(user=user).delete()
    CachedStore.objects.filter(user=user).delete()
    CatalogRefresh.objects.filter(user=user).delete()
    return deleted
