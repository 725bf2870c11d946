"""A computed preview as it is kept (`PlanPreview`, `PlanPreviewChunk`) and read back.

The page needs the plan's counts and totals, its albums, adoption reviews and variant groups
(`PreviewSummary`, one row), the first rows of each section and, on a "show all" page, one
page of one section (`PreviewSection`: chunks of `CHUNK_ITEMS` rows, read by page). A section
is kept as its rows' units (sync.preview_variants.units: the items of a product with variants
together, as one row), so a product's variants are never split between pages. So a page of a
100k preview reads a few kilobytes, never the whole plan.

Kept pickled (and compressed): the rows are written by our own task from our own plan objects,
and read by our own pages, never from anything a user or vendor sends.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from sync.models import PlanPreview, PlanPreviewChunk, PreviewStatus
from sync.plan.plan import ACTION_ORDER, Plan
from sync.plan.variants import VariantPlan

CHUNK_ITEMS = 50  # rows of a "show all" page: one chunk read per page
FIRST_ITEMS = 10  # rows of each section on the preview itself
FLAGGED = "flagged"
SECTIONS = (*[str(action) for action in ACTION_ORDER], FLAGGED)
CHUNKS_PER_INSERT = 40


@dataclass
class PreviewSummary:
    """What the preview page shows of a plan besides its item lists (the template reads it as
    `plan`: the names are the `Plan`'s)."""

    counts: dict
    sections: dict  # section → number of items
    section_rows: dict  # section → number of rows (a product with variants is one)
    total: int
    is_empty: bool
    published: int
    removals: int
    guard_percent: int
    guard_held: bool
    adoption_checked: bool
    adoption_reviews: list
    albums_to_create: list
    album_renames: list
    kept_in_vk: list  # the first FIRST_ITEMS (the count is in `counts`)
    variants: VariantPlan = field(default_factory=VariantPlan)
    extras_pending: int = 0
    # Whether a flagged item lacks a photo (the page then suggests a default photo).
    photos_missing: bool = False
    # Whether an item changes its VK category (the page then reads VK's category names).
    category_changes: bool = False
    # Evotor's picture counts of the new products the preview read (Plan.evotor_pictures).
    evotor_pictures: dict = field(default_factory=dict)
    # What this result was computed from (PlanPreview.source_key moves on to the key being
    # computed while it is computed again), and the catalog's size then: "Publish" on a stale
    # result compares them with now (sync/preview_publish.py). "" and 0 in results kept before.
    source_key: str = ""
    products: int = 0


def _pack(value) -> bytes:
    return zlib.compress(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), 1)


def _unpack(data) -> object:
    return pickle.loads(zlib.decompress(bytes(data)))  # noqa: S301 - our own rows, see above


def plan_sections(plan: Plan) -> dict[str, list]:
    """The plan's items by page section, in plan order: each action's items sent to VK, and the
    flagged ones (not sent until fixed)."""
    sections: dict[str, list] = {key: [] for key in SECTIONS}
    for item in plan.items:
        sections[FLAGGED if item.skipped else str(item.action)].append(item)
    return sections


def summarize(
    plan: Plan, sections: dict[str, list], units: dict[str, list], *, extras_pending: int
) -> PreviewSummary:
    return PreviewSummary(
        counts=plan.counts,
        sections={key: len(items) for key, items in sections.items()},
        section_rows={key: len(found) for key, found in units.items()},
        total=plan.total,
        is_empty=plan.is_empty,
        published=plan.published,
        removals=plan.removals,
        guard_percent=plan.guard_percent,
        guard_held=plan.guard_held,
        adoption_checked=plan.adoption_checked,
        adoption_reviews=plan.adoption_reviews,
        albums_to_create=plan.albums_to_create,
        album_renames=plan.album_renames,
        kept_in_vk=plan.kept_in_vk[:FIRST_ITEMS],
        variants=plan.variants,
        extras_pending=extras_pending,
        photos_missing=any("no_photo" in item.flags for item in sections[FLAGGED]),
        category_changes=any("category_id" in (item.changes or {}) for item in plan.items),
        evotor_pictures=plan.evotor_pictures,
    )


def preview_save(preview: PlanPreview, plan: Plan, *, key: str) -> None:
    """Keep `plan` as `preview`'s result, computed from `key`, in place of the last one."""
    from sync.preview_rows import extras_pending
    from sync.preview_variants import units as section_units

    sections = plan_sections(plan)
    units = {key: section_units(plan, items) for key, items in sections.items()}
    summary = summarize(plan, sections, units, extras_pending=extras_pending(preview.user))
    summary.source_key, summary.products = key, preview.products
    with transaction.atomic():
        PlanPreviewChunk.objects.filter(preview=preview).delete()
        batch = []
        for section, found in units.items():
            for number, start in enumerate(range(0, len(found), CHUNK_ITEMS)):
                chunk = found[start : start + CHUNK_ITEMS]
                batch.append(
                    PlanPreviewChunk(
                        preview=preview, section=section, number=number, items=_pack(chunk)
                    )
                )
                if len(batch) >= CHUNKS_PER_INSERT:
                    PlanPreviewChunk.objects.bulk_create(batch)
                    batch = []
        PlanPreviewChunk.objects.bulk_create(batch)
        now = timezone.now()
        PlanPreview.objects.filter(pk=preview.pk).update(
            status=PreviewStatus.READY,
            summary=_pack(summary),
            source_key=key,
            computed_at=now,
            finished_at=now,
            heartbeat_at=now,
            done=preview.total or 1,
            total=preview.total or 1,
        )


def preview_summary(preview: PlanPreview) -> PreviewSummary:
    return _unpack(preview.summary)


def first_items(preview: PlanPreview) -> dict[str, list]:
    """The first FIRST_ITEMS units of each section (one query: the first chunk of each)."""
    firsts = {key: [] for key in SECTIONS}
    for chunk in PlanPreviewChunk.objects.filter(preview=preview, number=0):
        firsts[chunk.section] = _unpack(chunk.items)[:FIRST_ITEMS]
    return firsts


class PreviewSection(Sequence):
    """The units (rows) of one section of a kept preview, as a sequence Django's Paginator
    pages through: a slice reads only the chunks it covers."""

    def __init__(self, preview: PlanPreview, section: str, count: int):
        self.preview, self.section, self.count_ = preview, section, count

    def __len__(self) -> int:
        return self.count_

    def __getitem__(self, index):
        if not isinstance(index, slice):
            found = self[index : index + 1] if index >= 0 else self[index:][:1]
            if not found:
                raise IndexError(index)
            return found[0]
        start, stop, step = index.indices(self.count_)
        if start >= stop:
            return []
        first, last = start // CHUNK_ITEMS, (stop - 1) // CHUNK_ITEMS
        chunks = PlanPreviewChunk.objects.filter(
            preview=self.preview, section=self.section, number__range=(first, last)
        ).order_by("number")
        items = [item for chunk in chunks for item in _unpack(chunk.items)]
        offset = first * CHUNK_ITEMS
        return items[start - offset : stop - offset : step]
