"""The preview is honest about photos: a new item whose only possible photo is Evotor's is
either known to have one (published), known to have none (skipped), or said to be checked at
publish, never silently counted as created."""

from __future__ import annotations

from sync.models import ItemLink, RunStatus, SyncRunItem
from sync.plan import preview
from sync.plan.preview import sync_run_preview


def image_lookups(shop) -> int:
    return shop.evotor.requests_by_kind.get("images", 0)


def test_the_preview_reads_evotor_images_of_new_items_and_flags_the_one_without(shop):
    shop.add("nophoto", "Товар без фото", image=False)
    shop.refresh()
    shop.evotor.reset_counters()
    plan = sync_run_preview(user=shop.user)
    assert plan.counts["create"] == 5
    assert plan.counts["photo_unchecked"] == 0
    assert [(item.product_name, item.flags) for item in plan.flagged] == [
        ("Товар без фото", ["no_photo"])
    ]
    assert image_lookups(shop) == 6
    assert not ItemLink.objects.filter(user=shop.user).exists()  # the preview stores nothing

    run = shop.sync()  # the run reads Evotor again, and agrees with the preview
    # A run that left an item out is done with problems, and says why (issue 12).
    assert (run.status, run.created, run.skipped) == (RunStatus.PARTIAL, 5, 1)
    assert run.error == "1 товар пропущен: у него нет фото."
    assert SyncRunItem.objects.get(run=run, status="skipped").error == "no_photo"


def test_a_product_found_without_a_photo_is_flagged_next_time_without_asking_evotor(shop):
    shop.add("nophoto", "Товар без фото", image=False)
    shop.refresh()
    shop.sync()
    shop.evotor.reset_counters()
    plan = sync_run_preview(user=shop.user)
    assert [item.flags for item in plan.flagged] == [["no_photo"]]
    assert image_lookups(shop) == 0


def test_with_too_many_new_items_the_preview_says_their_photo_is_checked_at_publish(
    shop, monkeypatch
):
    monkeypatch.setattr(preview, "PREVIEW_LOOKUP_MAX", 3)
    shop.add("nophoto", "Товар без фото", image=False)
    shop.refresh()
    shop.evotor.reset_counters()
    plan = sync_run_preview(user=shop.user)
    assert image_lookups(shop) == 0
    assert plan.counts["create"] == 6 and not plan.flagged
    assert plan.counts["photo_unchecked"] == 6
    assert all(item.photo_unchecked for item in plan.items)


def test_where_evotor_does_not_answer_the_photo_is_checked_at_publish(shop):
    shop.evotor.fail("500", path=f"/stores/{shop.store_id}/products")
    plan = sync_run_preview(user=shop.user)
    assert plan.counts["create"] == 5 and not plan.flagged
    assert plan.counts["photo_unchecked"] == 5


def test_with_a_fallback_photo_the_preview_asks_evotor_nothing(shop, default_photo_path):
    shop.add("nophoto", "Товар без фото", image=False)
    shop.refresh()
    shop.evotor.reset_counters()
    plan = sync_run_preview(user=shop.user)
    assert image_lookups(shop) == 0
    assert plan.counts["create"] == 6
    assert plan.counts["photo_unchecked"] == 0 and not plan.flagged
    run = shop.sync()
    assert (run.created, run.skipped) == (6, 0)
