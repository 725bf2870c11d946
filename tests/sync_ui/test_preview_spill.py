"""The preview task builds its plan in chunks and spills the items to a file in sorted runs
(sync/plan/item_spill.py), then writes them back merged as the page's rows
(sync/preview_store.py): with runs of three items, pages of two and chunks of two products,
what it keeps is what the preview kept from the plan in one piece, variant rows included."""

from __future__ import annotations

from contextlib import closing

import pytest

from sync import preview_store
from sync.models import PlanPreview, PlanPreviewChunk
from sync.plan import item_spill
from sync.plan.item_spill import SpilledItems
from sync.plan.preview import sync_run_preview
from sync.preview_store import _unpack, preview_save, preview_summary
from tests.sync_engine.test_variants import add_tees

pytestmark = pytest.mark.django_db
KEY = "a" * 64


@pytest.fixture
def small_runs(settings, monkeypatch):
    settings.SYNC_PLAN_CHUNK = 2
    monkeypatch.setattr(item_spill, "RUN_ITEMS", 3)
    monkeypatch.setattr(item_spill, "PAGE_ITEMS", 2)
    monkeypatch.setattr(preview_store, "CHUNK_ITEMS", 2)


def kept(preview) -> dict[str, list]:
    """Each section's rows as the pages read them: per chunk, the keys of each row's items."""
    rows: dict[str, list] = {}
    for chunk in PlanPreviewChunk.objects.filter(preview=preview).order_by("section", "number"):
        units = _unpack(chunk.items)
        rows.setdefault(chunk.section, []).append([[i.key for i in unit] for unit in units])
    return rows


def summary_of(preview) -> dict:
    preview.refresh_from_db()
    summary = preview_summary(preview)
    return {
        "counts": summary.counts,
        "sections": summary.sections,
        "section_rows": summary.section_rows,
        "total": summary.total,
        "is_empty": summary.is_empty,
        "photos_missing": summary.photos_missing,
        "category_changes": summary.category_changes,
        "kept_in_vk": [note.key for note in summary.kept_in_vk],
        "variant_groups": [group.key for group in summary.variants.groups],
        "albums": [album.title for album in summary.albums_to_create],
    }


def test_a_spilled_preview_keeps_the_rows_of_the_plan_in_one_piece(shop, small_runs):
    add_tees(shop)
    shop.add("bag", "Пакет", price=0)  # flagged: no price
    shop.refresh()
    preview = PlanPreview.objects.create(user=shop.user)
    preview_save(preview, sync_run_preview(user=shop.user), key=KEY)
    held_rows, held_summary = kept(preview), summary_of(preview)
    with closing(SpilledItems()) as spilled:
        plan = sync_run_preview(user=shop.user, spill=spilled)
        assert plan.items == []  # every item went to the file
        preview_save(preview, plan, key=KEY, spilled=spilled)
    assert kept(preview) == held_rows
    assert summary_of(preview) == held_summary
    assert held_summary["sections"]["create"] == 8 and held_summary["sections"]["flagged"] == 1
    assert held_summary["variant_groups"]  # the tees' rows were folded into one


def test_a_spilled_preview_of_a_published_catalog_keeps_its_updates_and_removals(shop, small_runs):
    shop.sync()
    shop.configure(price_markup_percent=10)
    shop.remove("pie")
    shop.refresh()
    preview = PlanPreview.objects.create(user=shop.user)
    preview_save(preview, sync_run_preview(user=shop.user), key=KEY)
    held_rows, held_summary = kept(preview), summary_of(preview)
    with closing(SpilledItems()) as spilled:
        preview_save(
            preview, sync_run_preview(user=shop.user, spill=spilled), key=KEY, spilled=spilled
        )
    assert kept(preview) == held_rows
    assert summary_of(preview) == held_summary
    assert (held_summary["counts"]["update"], held_summary["counts"]["hide"]) == (4, 1)
