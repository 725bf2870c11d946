"""A picture replaced in Evotor with nothing else changed reaches VK (issue 14 part 2): the
`ProductImage` event marks the product's pictures changed, the run reads its image list again
and re-uploads that one photo; nothing else is written."""

from __future__ import annotations

import pytest

from catalog.models import CachedProduct, DirtyProduct
from sync.models import ItemLink, RunTrigger, SyncRun

SECRET = "photo-change-test-app-secret-0123456789ab"


def photo_of(shop, key) -> int:
    return shop.vk_item(key)["photos"][0]["id"]


@pytest.mark.django_db(transaction=True)
def test_a_picture_replaced_at_the_till_reaches_vk_through_a_push(shop, settings, live_server):
    settings.EVOTOR_WEBHOOK_SECRET = SECRET
    settings.EVOTOR_PUSH_SECRET = ""
    shop.sync()
    before = {key: photo_of(shop, key) for key in shop.products}
    content_hash = CachedProduct.objects.get(evotor_id=shop.products["tea"]).content_hash
    link = ItemLink.objects.get(user=shop.user, product_id=shop.products["tea"])
    calls_before = dict(shop.vk.stats()["calls_by_method"])
    last_run = SyncRun.objects.order_by("-pk").first().pk
    shop.evotor.events.configure_push(f"{live_server.url}/evotor/events", SECRET)
    try:
        image = shop.evotor.replace_image(shop.store_id, shop.products["tea"])
    finally:
        shop.evotor.events.configure_push(None)
    cached = CachedProduct.objects.get(evotor_id=shop.products["tea"])
    assert cached.content_hash == content_hash  # the product's own payload did not change
    assert cached.images_changed_at is not None
    # Two events (the old picture removed, the new one created): the first run sends it, the
    # second finds nothing left to do.
    runs = list(SyncRun.objects.filter(pk__gt=last_run))
    assert {(run.trigger, run.status) for run in runs} == {(RunTrigger.EVOTOR_CHANGE, "succeeded")}
    assert sum(run.updated for run in runs) == 1
    after = {key: photo_of(shop, key) for key in shop.products}
    assert after["tea"] != before["tea"]
    assert {k: v for k, v in after.items() if k != "tea"} == {
        k: v for k, v in before.items() if k != "tea"
    }
    link.refresh_from_db()
    assert link.evotor_image.startswith(image["id"])
    calls = shop.vk.stats()["calls_by_method"]
    edits = calls.get("market.edit", 0) - calls_before.get("market.edit", 0)
    assert edits == 1
    # Published: the mark is cleared (sync/publish/targeted.py).
    assert not DirtyProduct.objects.filter(user=shop.user, product_evotor_id=shop.products["tea"])
    # Nothing changed since: the next run writes nothing.
    writes = shop.write_calls()
    assert shop.sync().total == 0
    assert shop.write_calls() == writes


def test_an_image_event_for_an_unknown_product_changes_nothing(shop):
    from catalog.changes import UNCHANGED, catalog_product_image_changed

    outcome = catalog_product_image_changed(
        user=shop.user, store_evotor_id=shop.store_id, product_id="no-such-product"
    )
    assert outcome == UNCHANGED
    assert not DirtyProduct.objects.filter(user=shop.user).exists()
