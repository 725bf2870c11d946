"""The preview: the plan of the next run, computed without writing to VK or the database."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from sync.clients import evotor_client_for
from sync.plan.chunk_plan import computed_chunks, plan_in_chunks, survey_catalog
from sync.plan.inputs import (
    Inputs,
    cached_vk_albums,
    cached_vk_items,
    load_inputs,
    plan_from_inputs,
)
from sync.plan.item_spill import SpilledItems
from sync.plan.photos import PREVIEW_LOOKUP_MAX, evotor_images_peek
from sync.plan.plan import Plan
from sync.plan.variant_inputs import member_keys
from vk_catalog.models import RefreshStatus, VkCatalogRefresh
from vk_catalog.services import VkCatalogUnavailable, vk_catalog_refresh_for_user

logger = logging.getLogger(__name__)

VK_CACHE_FRESH_SECONDS = 600

# The stages of `sync_run_preview`, in order (the preview task's progress names them).
STAGE_CATALOG = "catalog"  # reading the catalogs and links from the database
STAGE_VK = "vk"  # reading the VK Market again, before a first publish, when the copy is old
STAGE_PHOTOS = "photos"  # asking Evotor for the pictures of a few new products
STAGE_PLAN = "plan"  # comparing: the plan itself
STAGES = (STAGE_CATALOG, STAGE_VK, STAGE_PHOTOS, STAGE_PLAN)


def _refresh_vk_cache_if_stale(user) -> None:
    """Before a first publish, the preview shows what it would adopt: that needs a VK catalog
    cache read in the last few minutes (a refresh reads, never writes, VK)."""
    cutoff = timezone.now() - timedelta(seconds=VK_CACHE_FRESH_SECONDS)
    fresh = VkCatalogRefresh.objects.filter(
        user=user, status=RefreshStatus.OK, finished_at__gte=cutoff
    ).exists()
    if fresh:
        return
    try:
        vk_catalog_refresh_for_user(user=user)
    except VkCatalogUnavailable:
        pass
    except Exception:
        logger.exception(
            "refreshing the VK catalog for a preview failed", extra={"user_id": user.pk}
        )


def _peek_evotor_images(user, inputs: Inputs) -> dict[tuple[str, str], int]:
    """New items whose only possible photo is Evotor's: read Evotor's image list for them now,
    so the preview says which will be published and which skipped for want of a photo.

    Only when there are at most PREVIEW_LOOKUP_MAX of them (a few seconds' work at most, in a
    thread pool); with more, or where Evotor does not answer, the preview says "checked at
    publish" instead. Nothing is stored: the run reads the list again when it publishes.
    Returns how many pictures Evotor has for each product read (the preview's photo counts).
    """
    wanted = [p for p in inputs.products if inputs.photo_depends_on_evotor(p)]
    if not wanted or len(wanted) > PREVIEW_LOOKUP_MAX:
        return {}
    evotor = evotor_client_for(user)
    if evotor is None:
        return {}
    seen = evotor_images_peek(evotor=evotor, products=wanted)
    inputs.evotor_seen.update({key: note for key, (note, _count) in seen.items()})
    return {key: count for key, (_note, count) in seen.items()}


def sync_run_preview(
    *, user, progress: Callable[[str], None] | None = None, spill: SpilledItems | None = None
) -> Plan:
    """The plan of the next run: no VK write, nothing written here.

    Built from the cached catalogs; before the first publish the VK catalog cache is refreshed
    first when it is older than a few minutes, so the adoptions shown are VK's current items.
    For new items with no photo but Evotor's, Evotor's image list is read (a bounded number,
    see `_peek_evotor_images`); the rest are `Plan.photo_unchecked`.

    `progress(stage)` is told as each of `STAGES` begins (a stage with nothing to do is still
    told, so a progress bar counts every stage once).

    With `spill`, the plan is built in chunks and its items go to `spill` (sync/plan/item_spill.py),
    not to `Plan.items`: the preview task's memory does not grow with the catalog.
    """
    step = progress or (lambda _stage: None)
    if spill is not None:
        return _preview_in_chunks(user, step, spill)
    step(STAGE_CATALOG)
    inputs = load_inputs(user)
    unlinked = inputs.has_unlinked_products()
    step(STAGE_VK)
    if unlinked and inputs.sync_settings.first_published_at is None:
        _refresh_vk_cache_if_stale(user)
    step(STAGE_PHOTOS)
    pictures = _peek_evotor_images(user, inputs) if unlinked else {}
    step(STAGE_PLAN)
    vk_items = cached_vk_items(user) if unlinked else None
    vk_albums = cached_vk_albums(user) if unlinked else []
    plan = plan_from_inputs(inputs, vk_items=vk_items, vk_albums=vk_albums)
    plan.evotor_pictures = pictures
    return plan


def _preview_in_chunks(user, step: Callable[[str], None], spill: SpilledItems) -> Plan:
    """`sync_run_preview` with the plan built in chunks (sync/plan/chunk_plan.py)."""
    step(STAGE_CATALOG)
    survey = survey_catalog(user)
    unlinked = survey.unlinked
    step(STAGE_VK)
    if unlinked and survey.base.sync_settings.first_published_at is None:
        _refresh_vk_cache_if_stale(user)
    step(STAGE_PHOTOS)
    pictures = _peek_in_chunks(user, survey) if unlinked else {}
    step(STAGE_PLAN)
    vk_items = cached_vk_items(user) if unlinked else None
    vk_albums = cached_vk_albums(user) if unlinked else []
    spill.watch = member_keys(survey.base.variants)
    plan, _links = plan_in_chunks(
        survey, budget=spill, vk_items=vk_items, vk_albums=vk_albums, stamp=False
    )
    plan.evotor_pictures = pictures
    return plan


def _peek_in_chunks(user, survey) -> dict[tuple[str, str], int]:
    """`_peek_evotor_images` for a surveyed catalog: the products whose photo only Evotor can
    give are looked for a chunk at a time, and given up on past PREVIEW_LOOKUP_MAX."""
    wanted = []
    for part in computed_chunks(survey):
        wanted.extend(p for p in part.products if part.photo_depends_on_evotor(p))
        if len(wanted) > PREVIEW_LOOKUP_MAX:
            return {}
    if not wanted:
        return {}
    evotor = evotor_client_for(user)
    if evotor is None:
        return {}
    seen = evotor_images_peek(evotor=evotor, products=wanted)
    survey.base.evotor_seen.update({key: note for key, (note, _count) in seen.items()})
    return {key: count for key, (_note, count) in seen.items()}
