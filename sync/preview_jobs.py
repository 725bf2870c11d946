"""The preview, computed once and kept while nothing it depends on changes (issue 10 point 4).

A catalog of up to `PREVIEW_INLINE_MAX_PRODUCTS` products is planned in the request, as before
(about a second at 2,000 products; the tests and the demo stay one request). A larger one is
planned by the task `sync.tasks.compute_preview` in the slow lane (it is a whole-catalog plan:
the fast lane's changes must not wait behind it), one pending task per merchant at most, while
the page shows its progress. Both keep their result in `PlanPreview`; the page renders it from
there (sync/preview_store.py), so "show all" pages and the reloads read, never plan.

What a preview was computed from is `preview_source_key`: a digest of every table the plan
reads, per merchant (counts, and the journals their writers leave: see `catalog_marks`). A preview
whose key differs from the current one is stale and computed again (its last result shown
meanwhile, marked stale); "Publish" carries the key of the result the merchant saw, and is
refused if what it depends on moved too much since (sync/preview_publish.py). The key's first
part digests the settings and choices alone, so that check can tell them from the catalogs.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import closing

from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evosync.runs import run_close_if_dead, run_enqueue, run_fail
from sync.models import PlanPreview, PreviewStatus
from sync.plan.item_spill import SpilledItems
from sync.plan.preview import STAGE_PHOTOS, STAGES, sync_run_preview
from sync.preview_store import preview_save

logger = logging.getLogger(__name__)

STAGE_SAVE = "save"  # keeping the result for the page
ALL_STAGES = (*STAGES, STAGE_SAVE)
STAGE_LABELS = {
    "catalog": _("Reading your catalog"),
    "vk": _("Reading your VK Market"),
    "photos": _("Checking Evotor's photos of new products"),
    "plan": _("Comparing your catalog with VK"),
    STAGE_SAVE: _("Preparing the page"),
}
FAILED_MESSAGE = _(
    "Something went wrong while computing the preview; we have been told. Nothing was sent "
    "to VK. Try again in a few minutes."
)
# Bumped when what the plan depends on changes shape (a new table, a new rule).
KEY_VERSION = 2
CHOICES_DIGITS = 16


# --- what a preview is computed from ---------------------------------------------------------
# The large tables (products, links, the VK items: 100k rows each) are only counted, an index
# scan; what changes their rows is seen in the small journal every writer leaves: a catalog read
# (`CatalogRefresh`), a change from Evotor (`CatalogFreshness`, catalog/changes.py), a publishing
# run (`SyncRun`: links, the VK copy), a VK catalog read (`VkCatalogRefresh`: the VK copy, edits
# made in VK). Reading the large tables' change times instead costs a scan of every row (about
# half a second at 100k products on SQLite under load), on every visit.
def _marks(queryset, *latest: str) -> tuple:
    """The rows' count and the latest value of each of `latest` (for the small tables)."""
    aggregates = {"n": Count("pk"), **{f"m{i}": Max(name) for i, name in enumerate(latest)}}
    return tuple(queryset.aggregate(**aggregates).values())


def choices_marks(user) -> tuple:
    """The merchant's settings and choices: what a stale preview may not differ in for
    "Publish" to go ahead on it (sync/preview_publish.py)."""
    from catalog.models import SyncFilter
    from sync.models import AdoptionDecision, SyncSettings

    return (
        KEY_VERSION,
        _marks(SyncFilter.objects.filter(user=user), "updated_at"),
        _marks(SyncSettings.objects.filter(user=user), "updated_at", "first_published_at"),
        _marks(AdoptionDecision.objects.filter(user=user), "decided_at"),
        str(settings.VK_DEFAULT_PHOTO_PATH),
    )


def catalog_marks(user) -> tuple:
    """The Evotor side and what was published (a sale changing stock moves these)."""
    from catalog.models import (
        CachedGroup,
        CachedProduct,
        CachedStore,
        CatalogFreshness,
        CatalogRefresh,
    )
    from sync.models import AlbumLink, ItemLink, ProductPhoto, SyncRun, VariantGroupLink

    return (
        CachedProduct.objects.filter(user=user).count(),
        CachedProduct.objects.filter(user=user, is_removed=False).count(),
        _marks(CatalogRefresh.objects.filter(user=user), "pk", "started_at", "finished_at"),
        _marks(CatalogFreshness.objects.filter(user=user), "last_change_at", "changes"),
        _marks(CachedGroup.objects.filter(user=user), "pk", "last_seen_at", "removed_at"),
        _marks(CachedStore.objects.filter(user=user), "pk", "last_seen_at", "removed_at"),
        _marks(SyncRun.objects.filter(user=user), "pk", "started_at", "finished_at"),
        ItemLink.objects.filter(user=user).count(),
        _marks(AlbumLink.objects.filter(user=user), "pk"),
        _marks(ProductPhoto.objects.filter(user=user), "pk", "uploaded_at"),
        _marks(VariantGroupLink.objects.filter(user=user), "pk", "updated_at"),
    )


def vk_marks(user) -> tuple:
    """The merchant's VK Market as last read (adoption compares new products with it)."""
    from vk_catalog.models import VkCachedAlbum, VkCachedProduct, VkCatalogRefresh

    return (
        _marks(VkCatalogRefresh.objects.filter(user=user), "pk", "started_at", "finished_at"),
        VkCachedProduct.objects.filter(user=user).count(),
        _marks(VkCachedAlbum.objects.filter(user=user), "updated_at"),
    )


def _digest(value: tuple, length: int) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:length]


def source_key(choices: tuple, catalog: tuple, vk: tuple) -> str:
    """64 hex digits: the settings and choices' digest (CHOICES_DIGITS), then the catalogs'."""
    return _digest(choices, CHOICES_DIGITS) + _digest((catalog, vk), 64 - CHOICES_DIGITS)


def key_choices(key: str) -> str:
    """The part of a source key that says which settings and choices it was computed with."""
    return key[:CHOICES_DIGITS]


def preview_source_key(user) -> str:
    """The digest of what a preview of `user` computed now would be computed from."""
    return source_key(choices_marks(user), catalog_marks(user), vk_marks(user))


def catalog_size(user) -> int:
    from catalog.models import CachedProduct

    return CachedProduct.objects.filter(user=user, is_removed=False).count()


def planned_inline(products: int) -> bool:
    return products <= settings.PREVIEW_INLINE_MAX_PRODUCTS


# --- asking for one --------------------------------------------------------------------------
def preview_current(user, *, again: bool = False) -> PlanPreview:
    """The merchant's preview as the page should show it: ready and computed from what is
    current, or being computed (queued, running), or failed.

    A missing or stale preview (or any, with `again`) is computed again: in this request for a
    small catalog, by a task for a large one. A preview being computed is left to finish (its
    result is stale if something changed meanwhile, and computed again on the next visit).
    While a large one is computed again, its last result stays kept (`PlanPreview.has_result`):
    the page shows it as stale meanwhile, so a catalog changing faster than it is computed
    still has a preview to show and publish from (sync/preview_publish.py).
    """
    key = preview_source_key(user)
    preview = PlanPreview.objects.filter(user=user).first()
    if preview is not None and preview.is_active:
        if not run_close_if_dead(preview):
            return _known(preview, key)
        preview.refresh_from_db()
    fresh = preview is not None and preview.source_key == key
    if fresh and not again and preview.status in (PreviewStatus.READY, PreviewStatus.FAILED):
        return _known(preview, key)
    computed = _compute_again(user, preview, key=key)
    if computed.status == PreviewStatus.READY:
        # Computed in this request: its own read of the VK Market (before a first publish)
        # moved the VK marks, so the key to compare with is the one after it.
        key = preview_source_key(user)
    return _known(computed, key)


def _known(preview: PlanPreview, key: str) -> PlanPreview:
    """`preview`, knowing the current key: the page says whether its kept result is stale."""
    preview.current_key = key
    return preview


def _compute_again(user, preview: PlanPreview | None, *, key: str) -> PlanPreview:
    products = catalog_size(user)
    fields = {
        "status": PreviewStatus.QUEUED,
        "requested_at": timezone.now(),
        "source_key": key,
        "products": products,
        "stage": "",
        "done": 0,
        "total": len(ALL_STAGES),
        "heartbeat_at": None,
        "started_at": None,
        "finished_at": None,
        "error": "",
        "task_sent_at": None,
    }
    if preview is None:
        preview, created = PlanPreview.objects.get_or_create(user=user, defaults=fields)
        claimed = created
    else:
        # Only one request turns a finished preview back into a queued one.
        claimed = bool(
            PlanPreview.objects.filter(pk=preview.pk, status=preview.status).update(**fields)
        )
    if claimed:
        if planned_inline(products):
            preview_compute(user=user, preview_id=preview.pk)
        else:
            run_enqueue(preview)
    preview.refresh_from_db()
    return preview


# --- computing one (the task, or the request for a small catalog) -----------------------------
def preview_compute(*, user, preview_id: int) -> str:
    """Compute the queued preview `preview_id` of `user` and keep it. Safe to run twice: a
    preview no longer queued is left alone. Returns the status it ended in."""
    now = timezone.now()
    claimed = PlanPreview.objects.filter(
        pk=preview_id, user=user, status=PreviewStatus.QUEUED
    ).update(status=PreviewStatus.RUNNING, started_at=now, heartbeat_at=now)
    if not claimed:
        return "skipped"
    preview = PlanPreview.objects.get(pk=preview_id)
    marks = {}

    def progress(stage: str) -> None:
        if stage == STAGE_PHOTOS:
            marks["vk"] = vk_marks(user)
        PlanPreview.objects.filter(pk=preview_id).update(
            stage=stage, done=ALL_STAGES.index(stage), heartbeat_at=timezone.now()
        )

    try:
        # Read before the catalogs are: a change while planning leaves the result stale, never
        # a stale result marked fresh. The VK side is read again after the VK stage (which may
        # read the VK Market for a first publish, and must not make its own result stale).
        marks.update(choices=choices_marks(user), catalog=catalog_marks(user), vk=vk_marks(user))
        # The plan is built in chunks and its items spilled to a file, then written as the
        # page's rows: the task's memory does not grow with the catalog (issue 10 item 4).
        with closing(SpilledItems()) as spilled:
            plan = sync_run_preview(user=user, progress=progress, spill=spilled)
            progress(STAGE_SAVE)
            key = source_key(marks["choices"], marks["catalog"], marks["vk"])
            preview_save(preview, plan, key=key, spilled=spilled)
    except Exception:
        logger.exception("computing a preview failed", extra={"user_id": user.pk})
        run_fail(preview, FAILED_MESSAGE, statuses=(PreviewStatus.RUNNING,))
        return PreviewStatus.FAILED
    return PreviewStatus.READY
