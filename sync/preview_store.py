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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from sync.models import PlanPreview, PlanPreviewChunk, PreviewStatus
from sync.plan.item_spill import FLAGGED, SECTIONS, SpilledItems
from sync.plan.plan import Plan
from sync.plan.variants import VariantPlan

CHUNK_ITEMS = 50  # rows of a "show all" page: one chunk read per page
FIRST_ITEMS = 10  # rows of each section on the preview itself
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
    plan: Plan,
    sections: dict[str, list],
    units: dict[str, list],
    *,
    extras_pending: int,
    spilled: SpilledItems | None = None,
) -> PreviewSummary:
    """The summary of `plan`; `sections` and `units` give each section's items and rows, or
    their numbers when the items were `spilled` (their flags are then the spill's)."""
    if spilled is None:
        photos_missing = any("no_photo" in item.flags for item in sections[FLAGGED])
        category_changes = any("category_id" in (item.changes or {}) for item in plan.items)
        sections = {key: len(items) for key, items in sections.items()}
        units = {key: len(found) for key, found in units.items()}
    else:
        photos_missing, category_changes = spilled.photos_missing, spilled.category_changes
    return PreviewSummary(
        counts=plan.counts,
        sections=sections,
        section_rows=units,
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
        photos_missing=photos_missing,
        category_changes=category_changes,
        evotor_pictures=plan.evotor_pictures,
    )


def preview_save(
    preview: PlanPreview, plan: Plan, *, key: str, spilled: SpilledItems | None = None
) -> None:
    """Keep `plan` as `preview`'s result, computed from `key`, in place of the last one. With
    `spilled`, the plan's items are there (sync/plan/item_spill.py), read back in order and
    written a chunk at a time."""
    from sync.preview_rows import extras_pending

    with transaction.atomic():
        PlanPreviewChunk.objects.filter(preview=preview).delete()
        writer = _ChunkWriter(preview)
        if spilled is None:
            sections, units = _write_held(plan, writer)
        else:
            sections, units = _write_spilled(plan, spilled, writer)
        writer.flush()
        summary = summarize(
            plan, sections, units, extras_pending=extras_pending(preview.user), spilled=spilled
        )
        summary.source_key, summary.products = key, preview.products
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


class _ChunkWriter:
    """A section's rows as `PlanPreviewChunk`s of `CHUNK_ITEMS` rows, inserted in batches."""

    def __init__(self, preview: PlanPreview):
        self.preview = preview
        self.batch: list[PlanPreviewChunk] = []

    def section(self, section: str, rows) -> int:
        """Write the section's `rows` (an iterable); returns how many there were."""
        count, chunk, number = 0, [], 0
        for row in rows:
            count += 1
            chunk.append(row)
            if len(chunk) == CHUNK_ITEMS:
                self._add(section, number, chunk)
                chunk, number = [], number + 1
        if chunk:
            self._add(section, number, chunk)
        return count

    def _add(self, section: str, number: int, chunk: list) -> None:
        self.batch.append(
            PlanPreviewChunk(
                preview=self.preview, section=section, number=number, items=_pack(chunk)
            )
        )
        if len(self.batch) >= CHUNKS_PER_INSERT:
            self.flush()

    def flush(self) -> None:
        PlanPreviewChunk.objects.bulk_create(self.batch)
        self.batch = []


def _write_held(plan: Plan, writer: _ChunkWriter) -> tuple[dict, dict]:
    from sync.preview_variants import units as section_units

    sections = plan_sections(plan)
    units = {key: section_units(plan, items) for key, items in sections.items()}
    for section, found in units.items():
        writer.section(section, found)
    return sections, units


def _write_spilled(plan: Plan, spilled: SpilledItems, writer: _ChunkWriter) -> tuple[dict, dict]:
    """Each section's items merged back from the spill, folded into rows as they come: only a
    page of items per spilled run and the rows of an unfinished variant group are held."""
    from sync.preview_variants import group_counts, stream_units

    expected = group_counts(plan, spilled.watched_sections)
    sizes, rows = {}, {}
    for section, items in spilled.sections():
        counted = _Counted(items)
        rows[section] = writer.section(
            section, stream_units(plan, counted, expected.get(section, Counter()))
        )
        sizes[section] = counted.count
    return sizes, rows


class _Counted:
    """An iterable that counts what went through it."""

    def __init__(self, items):
        self.items, self.count = items, 0

    def __iter__(self):
        for item in self.items:
            self.count += 1
            yield item


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
