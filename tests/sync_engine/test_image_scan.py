"""Poll-only intake (EVOTOR_INTAKE=poll): a picture replaced at Evotor with nothing else changed
leaves the product's `updated_at` alone, so no `since` read sees it; the slow image scan of the
whole runs (sync/publish/image_scan.py) brings it to VK."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from catalog.changes import catalog_changes_read
from connections.evotor_client import EvotorClient
from sync.models import ItemLink, RunStatus
from sync.publish.image_scan import evotor_images_scan, in_slice, slice_now
from tests.sync_engine.conftest import EVOTOR_TOKEN


def vk_photo_ids(shop, key) -> list[int]:
    return [photo["id"] for photo in shop.vk_item(key)["photos"]]


def test_a_replaced_picture_reaches_vk_with_poll_alone(shop, settings):
    settings.EVOTOR_INTAKE = ["poll"]
    settings.EVOTOR_IMAGE_SCAN_SLICES = 1  # every published product at every whole run
    shop.add("cake", "Торт «Наполеон»", extra_images=2)
    shop.refresh()
    assert shop.sync().status == RunStatus.SUCCEEDED
    before = vk_photo_ids(shop, "cake")
    shop.evotor.replace_image(shop.store_id, shop.products["cake"])
    # The `since` read sees nothing: the product itself did not change.
    result = catalog_changes_read(user=shop.user)
    assert result.status == "ok" and result.applied == 0
    calls = shop.vk.stats()["calls_by_method"]
    edits, photos = calls.get("market.edit", 0), len(shop.vk.api.photos)
    shop.evotor.reset_counters()
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    after = vk_photo_ids(shop, "cake")
    assert after[0] != before[0] and after[1:] == before[1:]
    assert shop.vk.stats()["calls_by_method"]["market.edit"] == edits + 1
    assert len(shop.vk.api.photos) == photos + 1  # the replaced picture alone
    # The cost: one image list per published product (6), and the changed one read again.
    assert shop.evotor.requests_by_kind["images"] == 7


def test_nothing_replaced_costs_image_reads_and_no_vk_request(shop, settings):
    settings.EVOTOR_INTAKE = ["poll"]
    settings.EVOTOR_IMAGE_SCAN_SLICES = 1
    shop.sync()
    requests = sum(shop.vk.stats()["requests_by_method"].values())
    shop.evotor.reset_counters()
    run = shop.sync()
    assert run.vk_requests == 0
    assert sum(shop.vk.stats()["requests_by_method"].values()) == requests
    assert shop.evotor.requests_by_kind["images"] == 5


def test_with_picture_events_there_is_no_scan(shop, settings):
    settings.EVOTOR_INTAKE = ["poll", "push"]
    settings.EVOTOR_IMAGE_SCAN_SLICES = 1
    shop.sync()
    shop.evotor.reset_counters()
    shop.sync()
    assert shop.evotor.requests_by_kind.get("images", 0) == 0


def test_every_product_is_read_once_over_the_slices(shop, settings):
    settings.EVOTOR_INTAKE = ["poll"]
    settings.EVOTOR_IMAGE_SCAN_SLICES = 3
    shop.sync()
    evotor = EvotorClient(EVOTOR_TOKEN)
    step = timedelta(seconds=settings.SYNC_INTERVAL_SECONDS)
    start = timezone.now()
    shop.evotor.reset_counters()
    read = [
        evotor_images_scan(user=shop.user, evotor=evotor, now=start + n * step)[0]
        for n in (0, 1, 2)
    ]
    assert sum(read) == 5 and shop.evotor.requests_by_kind["images"] == 5
    slots = {slice_now(start + n * step) for n in (0, 1, 2)}
    assert slots == {0, 1, 2}
    for link in ItemLink.objects.filter(user=shop.user):
        assert sum(in_slice(link.product_id, slot) for slot in slots) == 1
