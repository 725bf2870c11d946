"""Writes of the VK catalog cache: refresh from VK, queue a refresh, forget a merchant's cache.

A refresh reads everything first (`market.getAlbums`, then `market.get` with `extended=1`,
docs/contracts/vk-market-api.md §3, §5) and only then writes, in one transaction: a VK failure part-way
through leaves the previous cache exactly as it was. The run row is written outside that
transaction on purpose, so the merchant sees "running" while VK is being read and the error
after a failure.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from connections import vk_errors
from connections.http import TransientHTTPError
from connections.models import ConnectionState, VkConnection
from connections.vk_services import (
    vk_client_for,
    vk_connection_mark_broken,
    vk_connection_mark_ok,
)
from evosync.runs import run_enqueue, run_interrupt_others, run_live
from vk_catalog.locking import user_refresh_lock
from vk_catalog.models import (
    RefreshStatus,
    RefreshTrigger,
    VkCachedAlbum,
    VkCachedProduct,
    VkCachedProductAlbum,
    VkCatalogRefresh,
)
from vk_catalog.signals import vk_catalog_refresh_finished

logger = logging.getLogger(__name__)

# Progress callback: (stage, how many so far); stages are "albums", "items", "saving".
Progress = Callable[[str, int], None]

WRITE_BATCH = 500
# Bumped when the stored columns change, so the next refresh rewrites every row once.
HASH_VERSION = "1"
# Runs kept per merchant; older ones are pruned after each refresh.
RUNS_KEPT = 50

ALBUM_FIELDS = (
    "owner_id",
    "title",
    "item_count",
    "is_main",
    "is_hidden",
    "photo_url",
    "updated_time",
    "raw",
)
PRODUCT_FIELDS = (
    "owner_id",
    "title",
    "description",
    "price",
    "old_price",
    "availability",
    "sku",
    "album_ids",
    "photo_ids",
    "main_photo_id",
    "thumb_url",
    "category_id",
    "date",
    "variants_grouping_id",
    "is_main_variant",
    "stock_amount",
    "raw",
)


class VkCatalogUnavailable(Exception):
    """The refresh did not start; `user_message` says why, in the merchant's words."""

    def __init__(self, user_message: str):
        super().__init__(user_message)
        self.user_message = user_message


class VkCatalogNotConnected(VkCatalogUnavailable):
    pass


class VkCatalogBusy(VkCatalogUnavailable):
    pass


@dataclass
class _UpsertCounts:
    created: int = 0
    updated: int = 0
    removed: int = 0


def _usable_connection(user) -> VkConnection:
    connection = VkConnection.objects.filter(user=user).first()
    if connection is None or not connection.is_usable:
        raise VkCatalogNotConnected(
            _(
                "VK is not connected, or the connection needs attention: check it on the connections page."
            )
        )
    return connection


def _content_hash(fields: dict) -> str:
    """A digest of what we show and use; `raw` is left out, so VK's counters (views,
    likes) changing alone never rewrites a row."""
    meaningful = {key: value for key, value in fields.items() if key != "raw"}
    encoded = json.dumps(meaningful, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(f"{HASH_VERSION}:{encoded}".encode()).hexdigest()


def _album_fields(album) -> dict:
    return {
        "owner_id": album.owner_id,
        "title": album.title[:255],
        "item_count": max(0, album.count or 0),
        "is_main": bool(album.is_main),
        "is_hidden": bool(album.is_hidden),
        "photo_url": (album.photo_url or "")[:1000],
        "updated_time": album.updated_time,
        "raw": album.raw,
    }


def _product_fields(item) -> dict:
    photo_ids = list(item.photo_ids)
    return {
        "owner_id": item.owner_id,
        "title": item.title[:255],
        "description": item.description or "",
        "price": item.price,
        "old_price": item.old_price,
        "availability": item.availability,
        "sku": (item.sku or "")[:64],
        "album_ids": list(item.album_ids),
        "photo_ids": photo_ids,
        "main_photo_id": photo_ids[0] if photo_ids else None,
        "thumb_url": (item.thumb_url or "")[:1000],
        "category_id": item.category_id,
        "date": item.date,
        # A product with variants: its items share VK's group id (docs/contracts/vk-market-api.md §3.1).
        "variants_grouping_id": _int_or_none(item.raw.get("variants_grouping_id")),
        "is_main_variant": item.raw.get("is_main_variant") is not False,
        # −1 (or nothing) is VK's "no count shown" (docs/contracts/vk-market-api.md).
        "stock_amount": _count_or_none(item.raw.get("stock_amount")),
        "raw": item.raw,
    }


def _count_or_none(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _int_or_none(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _upsert(model, *, user, rows: dict[int, dict], fields: tuple[str, ...], now) -> _UpsertCounts:
    """Make the user's rows of `model` match `rows` ({vk_id: fields}) in a few bulk queries.

    New and changed rows go out as upserts (`bulk_create(update_conflicts=True)`, one statement
    per batch, as in catalog.refresh); unchanged rows (same content hash, not flagged removed)
    are not written at all; rows VK no longer lists are flagged removed, never deleted.
    """
    counts = _UpsertCounts()
    existing = {
        vk_id: (pk, content_hash, is_removed)
        for vk_id, pk, content_hash, is_removed in model.objects.filter(user=user).values_list(
            "vk_id", "pk", "content_hash", "is_removed"
        )
    }
    to_write = []
    for vk_id, values in rows.items():
        digest = _content_hash(values)
        current = existing.get(vk_id)
        if current is None:
            counts.created += 1
        elif current[1] == digest and not current[2]:
            continue
        else:
            counts.updated += 1
        to_write.append(
            model(
                user=user,
                vk_id=vk_id,
                content_hash=digest,
                is_removed=False,
                removed_at=None,
                **values,
            )
        )
    if to_write:
        kwargs = {
            "update_conflicts": True,
            "update_fields": [*fields, "content_hash", "is_removed", "removed_at", "updated_at"],
            # Bounded statements: `raw` runs to kilobytes an item (MariaDB max_allowed_packet).
            "batch_size": WRITE_BATCH,
        }
        # MariaDB upserts on whichever unique key collides and refuses an explicit target.
        if db_connection.features.supports_update_conflicts_with_target:
            kwargs["unique_fields"] = ["user", "vk_id"]
        model.objects.bulk_create(to_write, **kwargs)
    vanished = [
        pk
        for vk_id, (pk, _digest, removed) in existing.items()
        if vk_id not in rows and not removed
    ]
    for start in range(0, len(vanished), WRITE_BATCH):
        model.objects.filter(pk__in=vanished[start : start + WRITE_BATCH]).update(
            is_removed=True, removed_at=now, updated_at=now
        )
    counts.removed = len(vanished)
    return counts


def _sync_album_links(*, user, items: dict[int, dict]) -> None:
    """Make the item↔album join rows match the items' `album_ids`, writing only the difference."""
    album_pk = dict(
        VkCachedAlbum.objects.filter(user=user, is_removed=False).values_list("vk_id", "pk")
    )
    product_pk = dict(
        VkCachedProduct.objects.filter(user=user, is_removed=False).values_list("vk_id", "pk")
    )
    wanted = {
        (product_pk[vk_id], album_pk[album_vk_id])
        for vk_id, values in items.items()
        for album_vk_id in values["album_ids"]
        if vk_id in product_pk and album_vk_id in album_pk
    }
    existing = {
        (product_id, album_id): pk
        for pk, product_id, album_id in VkCachedProductAlbum.objects.filter(
            product__user=user
        ).values_list("pk", "product_id", "album_id")
    }
    stale = [pk for pair, pk in existing.items() if pair not in wanted]
    for start in range(0, len(stale), WRITE_BATCH):
        VkCachedProductAlbum.objects.filter(pk__in=stale[start : start + WRITE_BATCH]).delete()
    VkCachedProductAlbum.objects.bulk_create(
        [
            VkCachedProductAlbum(product_id=product_id, album_id=album_id)
            for product_id, album_id in wanted
            if (product_id, album_id) not in existing
        ],
        batch_size=WRITE_BATCH,
    )


def _read_from_vk(connection: VkConnection, run: VkCatalogRefresh, progress: Progress | None):
    """Everything VK has for the community, as {vk_id: fields} maps; no database writes."""
    client = vk_client_for(connection)
    owner_id = connection.owner_id
    albums: dict[int, dict] = {}
    items: dict[int, dict] = {}
    try:
        for album in client.iter_albums(owner_id):
            albums[album.id] = _album_fields(album)
        if progress:
            progress("albums", len(albums))
        for item in client.iter_items(owner_id):
            # A later page wins if offset paging shows an item twice while the shop changes.
            items[item.id] = _product_fields(item)
            if progress and len(items) % 1000 == 0:
                progress("items", len(items))
        if progress and len(items) % 1000:
            progress("items", len(items))
    finally:
        run.requests_made = client.requests_made
    return albums, items


def _write_cache(*, user, connection: VkConnection, albums, items, run) -> None:
    now = timezone.now()
    with transaction.atomic():
        # The merchant may have disconnected or switched communities while VK was read.
        still_connected = VkConnection.objects.filter(
            pk=connection.pk, group_id=connection.group_id
        ).exists()
        if not still_connected:
            raise VkCatalogNotConnected(
                _("The VK connection changed during the refresh; nothing was saved.")
            )
        _upsert(VkCachedAlbum, user=user, rows=albums, fields=ALBUM_FIELDS, now=now)
        counts = _upsert(VkCachedProduct, user=user, rows=items, fields=PRODUCT_FIELDS, now=now)
        _sync_album_links(user=user, items=items)
    run.albums_seen = len(albums)
    run.items_seen = len(items)
    run.created_count = counts.created
    run.updated_count = counts.updated
    run.removed_count = counts.removed


def _start_run(*, user, connection: VkConnection | None, trigger: str) -> VkCatalogRefresh:
    """Turn the merchant's queued run (if any) into the running one; we hold the lock, so any
    run still marked running belongs to a worker that died."""
    now = timezone.now()
    runs = VkCatalogRefresh.objects.filter(user=user)
    run_interrupt_others(runs)
    queued = list(runs.filter(status=RefreshStatus.QUEUED).order_by("-requested_at", "-pk"))
    run = queued[0] if queued else VkCatalogRefresh(user=user, trigger=trigger, requested_at=now)
    if len(queued) > 1:
        VkCatalogRefresh.objects.filter(pk__in=[extra.pk for extra in queued[1:]]).delete()
    run.status = RefreshStatus.RUNNING
    run.started_at = now
    run.owner_id = connection.owner_id if connection else None
    run.save()
    return run


def _finish_run(run: VkCatalogRefresh, *, status: str, error: str = "", code=None) -> None:
    run.status = status
    run.finished_at = timezone.now()
    run.error = error
    run.error_code = code
    # An update, not save(): if the merchant disconnected VK meanwhile, the run is gone and
    # must stay gone.
    VkCatalogRefresh.objects.filter(pk=run.pk).update(
        status=run.status,
        finished_at=run.finished_at,
        error=run.error,
        error_code=run.error_code,
        albums_seen=run.albums_seen,
        items_seen=run.items_seen,
        created_count=run.created_count,
        updated_count=run.updated_count,
        removed_count=run.removed_count,
        requests_made=run.requests_made,
    )
    runs = VkCatalogRefresh.objects.filter(user_id=run.user_id)
    keep = list(runs.order_by("-requested_at", "-pk").values_list("pk", flat=True)[:RUNS_KEPT])
    # The page says when the catalog was last read successfully, however many failures since.
    keep += (
        runs.filter(status=RefreshStatus.OK)
        .order_by("-finished_at", "-pk")
        .values_list("pk", flat=True)[:1]
    )
    runs.exclude(pk__in=keep).delete()


def _announce_finished(user, run: VkCatalogRefresh) -> None:
    # Publishing raises or resolves its "Market is off" alert from this (sync/signals.py).
    vk_catalog_refresh_finished.send_robust(VkCatalogRefresh, user=user, run=run)


def vk_catalog_refresh_for_user(
    *, user, trigger: str = RefreshTrigger.SCHEDULE, progress: Progress | None = None
) -> VkCatalogRefresh:
    """Re-read the merchant's VK Market albums and items into the cache (docs/contracts/vk-market-api.md §3).

    Raises `VkCatalogNotConnected` (no usable VK connection; any queued run is marked failed)
    or `VkCatalogBusy` (another refresh of this merchant holds the lock). Otherwise returns the
    finished run: OK, or FAILED with the VK error in the merchant's words. Error 5
    marks the connection broken (§7); captcha (14), Market off (1438) and permission errors
    stop this merchant's refresh and are shown on the page; transient failures leave the
    previous cache untouched.
    """
    try:
        connection = _usable_connection(user)
    except VkCatalogNotConnected as exc:
        VkCatalogRefresh.objects.filter(user=user, status=RefreshStatus.QUEUED).update(
            status=RefreshStatus.FAILED, finished_at=timezone.now(), error=exc.user_message
        )
        raise

    with user_refresh_lock(user.pk) as acquired:
        if not acquired:
            raise VkCatalogBusy(_("The VK catalog is already being refreshed."))
        run = _start_run(user=user, connection=connection, trigger=trigger)
        log_extra = {"user_id": user.pk, "run_id": run.pk, "owner_id": connection.owner_id}
        try:
            albums, items = _read_from_vk(connection, run, progress)
            if progress:
                progress("saving", len(items))
            _write_cache(user=user, connection=connection, albums=albums, items=items, run=run)
        except vk_errors.VkApiError as exc:
            if isinstance(exc, vk_errors.VkAuthError):
                vk_connection_mark_broken(connection=connection, message=exc.user_message)
            _finish_run(run, status=RefreshStatus.FAILED, error=exc.user_message, code=exc.code)
            logger.warning(
                "VK catalog refresh failed",
                extra={**log_extra, "error_code": exc.code, "error_type": type(exc).__name__},
            )
            _announce_finished(user, run)
            return run
        except TransientHTTPError:
            # The client normally wraps these in VkUnavailableError; never let one crash a run.
            _finish_run(
                run,
                status=RefreshStatus.FAILED,
                error=_("VK is not answering properly right now. EvoSync will try again later."),
            )
            logger.warning("VK catalog refresh failed: VK unreachable", extra=log_extra)
            _announce_finished(user, run)
            return run
        except VkCatalogNotConnected as exc:
            _finish_run(run, status=RefreshStatus.FAILED, error=exc.user_message)
            _announce_finished(user, run)
            return run
        except Exception:
            _finish_run(
                run,
                status=RefreshStatus.FAILED,
                error=_("Something went wrong on our side; we will look into it. Try again later."),
            )
            logger.exception("VK catalog refresh crashed", extra=log_extra)
            raise
        _finish_run(run, status=RefreshStatus.OK)
        if connection.last_error:
            vk_connection_mark_ok(connection=connection)
        logger.info(
            "VK catalog refreshed",
            extra={
                **log_extra,
                "items": run.items_seen,
                "items_created": run.created_count,
                "items_updated": run.updated_count,
                "items_removed": run.removed_count,
                "vk_requests": run.requests_made,
            },
        )
        _announce_finished(user, run)
        return run


def vk_catalog_enqueue_refresh(
    *, user, trigger: str = RefreshTrigger.SCHEDULE
) -> tuple[VkCatalogRefresh, bool]:
    """Queue a refresh of the merchant's VK catalog unless one is already queued or running.

    Returns (run, queued_now). The task is sent after commit, so the worker always finds the
    queued row; if the queue does not take it, the row is failed at once and says so (read it
    again to tell). A queued or running row nothing works on any more is closed on the way
    (`evosync.runs.run_live`).
    """
    _usable_connection(user)
    with transaction.atomic():
        active = run_live(VkCatalogRefresh.objects.filter(user=user))
        if active is not None:
            return active, False
        run = VkCatalogRefresh.objects.create(
            user=user, status=RefreshStatus.QUEUED, trigger=trigger
        )
        run_enqueue(run)
    return run, True


def vk_catalog_usable_connections() -> Iterable[VkConnection]:
    """Active merchants whose VK connection can be used (the token itself is checked in
    Python: it is encrypted, so the database cannot filter on it)."""
    connections = (
        VkConnection.objects.filter(
            state=ConnectionState.OK, group_id__isnull=False, user__is_active=True
        )
        .select_related("user")
        .order_by("pk")
    )
    return [connection for connection in connections if connection.is_usable]


@transaction.atomic
def vk_catalog_delete_for_user(*, user) -> int:
    """Forget the merchant's cached VK catalog (called when VK is disconnected).

    Returns how many items were deleted. A refresh still reading VK at that moment will find
    the connection gone when it writes, and save nothing.
    """
    VkCachedProductAlbum.objects.filter(product__user=user).delete()
    deleted, _by_model = VkCachedProduct.objects.filter(user=user).delete()
    VkCachedAlbum.objects.filter(user=user).delete()
    VkCatalogRefresh.objects.filter(user=user).delete()
    return deleted
