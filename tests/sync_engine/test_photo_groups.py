"""A new item's extra photos ride its main photo's group (issue 14 part 2, "Requests"): one bulk
POST carries each item's main and extra files, one `market.saveProductPhotoBulk` saves them and
each `market.add` names `main_photo_id` and `photo_ids` by `VkRef` into it, in the same
`execute`; Evotor's image list of a new item is read once; the fallbacks still hold."""

from __future__ import annotations

from connections.evotor_client import EvotorClient
from sync.models import ItemLink, RunStatus
from sync.plan.photos import evotor_source
from sync.publish import item_photos, photo_prep
from tests.sync_engine.conftest import EVOTOR_TOKEN


def vk_photo_ids(shop, key) -> list[int]:
    return [photo["id"] for photo in shop.vk_item(key)["photos"]]


def link(shop, key) -> ItemLink:
    return ItemLink.objects.get(user=shop.user, product_id=shop.products[key])


def evotor_hashes(shop, key) -> list[str]:
    """The photo hashes of the product's Evotor pictures, in Evotor's order."""
    images = EvotorClient(EVOTOR_TOKEN).list_product_images(shop.store_id, shop.products[key])
    return [evotor_source(image.id, image.url).photo_hash for image in images]


def add_cakes(shop, count: int, extra_images: int) -> list[str]:
    keys = [f"cake{n}" for n in range(count)]
    for n, key in enumerate(keys):
        shop.add(key, f"Торт номер {n + 1}", extra_images=extra_images)
    shop.refresh()
    return keys


def test_extras_ride_the_main_photos_upload_save_and_add(shop):
    keys = add_cakes(shop, 5, extra_images=2)  # 10 items: 5 demo ones with one photo
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.created == 10
    stats = shop.vk.stats()
    calls = stats["calls_by_method"]
    # Two groups of five items: two POSTs, two saves, ten adds; no market.edit at all.
    assert calls["market.saveProductPhotoBulk"] == 2
    assert calls["market.add"] == 10
    assert calls["market.getProductPhotoUploadServer"] == 1
    assert "market.edit" not in calls
    assert sum(stats["uploads_by_url"].values()) == 2
    for key in keys:
        ids = vk_photo_ids(shop, key)
        assert len(ids) == 3 and len(set(ids)) == 3
        pairs = link(shop, key).extra_photos
        # In Evotor's order: the link's hashes are Evotor's pictures after the first, and VK
        # holds their photos in that order after the main one.
        assert [pair[0] for pair in pairs] == evotor_hashes(shop, key)[1:]
        assert [pair[1] for pair in pairs] == ids[1:]
        assert link(shop, key).photo_hash == evotor_hashes(shop, key)[0]


def test_a_new_items_evotor_image_list_is_read_once(shop):
    add_cakes(shop, 3, extra_images=1)
    shop.evotor.reset_counters()
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    # One image list per new product (5 demo products + 3 cakes), not a second one for extras.
    assert shop.evotor.requests_by_kind["images"] == 8


def test_the_extras_after_a_first_publish_cost_nothing_more(shop):
    add_cakes(shop, 2, extra_images=3)
    shop.sync()
    writes = shop.write_calls()
    requests = sum(shop.vk.stats()["requests_by_method"].values())
    run = shop.refresh_and_sync()
    assert run.vk_requests == 0
    assert shop.write_calls() == writes
    assert sum(shop.vk.stats()["requests_by_method"].values()) == requests


def test_an_upload_url_taking_one_post_is_replaced_and_the_extras_still_ride(shop):
    keys = add_cakes(shop, 5, extra_images=1)
    shop.vk.set_photo_upload(url_posts=1)
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    calls = shop.vk.stats()["calls_by_method"]
    assert calls["market.getProductPhotoUploadServer"] >= 2  # a fresh URL for the second POST
    assert "market.edit" not in calls
    for key in keys:
        assert [pair[1] for pair in link(shop, key).extra_photos] == vk_photo_ids(shop, key)[1:]


def test_a_bulk_post_refused_sends_main_photos_alone_and_the_extras_follow(shop):
    """VK takes at most 5 files a POST here (the notes give no limit): the groups of five
    items with their extras (10 files) are refused twice, then each item goes alone with its
    main photo, and the extra-photo step sends the extras (5 files a POST) in the same run."""
    keys = add_cakes(shop, 5, extra_images=1)
    shop.vk.set_photo_upload(bulk_max_files=5)
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.created == 10 and run.failed == 0
    for key in keys:
        ids = vk_photo_ids(shop, key)
        assert len(ids) == 2
        assert [pair[1] for pair in link(shop, key).extra_photos] == ids[1:]
        assert [pair[0] for pair in link(shop, key).extra_photos] == evotor_hashes(shop, key)[1:]
    assert shop.vk.stats()["calls_by_method"]["market.edit"] == 5  # the extras, afterwards


def test_without_bulk_uploads_the_extras_follow_one_photo_a_save(shop):
    """One file per POST: the extras cannot ride; each item goes with its main photo, and the
    extra-photo step sends them one photo an upload and a save, chained to the edit."""
    keys = add_cakes(shop, 2, extra_images=2)
    shop.vk.set_photo_upload(bulk=False)
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.created == 7 and run.failed == 0
    calls = shop.vk.stats()["calls_by_method"]
    assert calls["market.saveProductPhoto"] == 7 + 4  # the main photos, then the 4 extras
    assert calls["market.edit"] == 2
    for key in keys:
        ids = vk_photo_ids(shop, key)
        assert len(ids) == 3
        assert [pair[1] for pair in link(shop, key).extra_photos] == ids[1:]
        assert [pair[0] for pair in link(shop, key).extra_photos] == evotor_hashes(shop, key)[1:]


def test_extras_are_normalized_within_the_photo_memory_budget(shop, monkeypatch):
    holds = []

    class CountingBudget(photo_prep.MemoryBudget):
        def hold(self, amount):
            holds.append(amount)
            return super().hold(amount)

    monkeypatch.setattr(photo_prep, "MemoryBudget", CountingBudget)
    add_cakes(shop, 1, extra_images=2)
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    # Five demo products and the cake: six main photos, and the cake's two extras.
    assert len(holds) == 8 and all(amount > 0 for amount in holds)


def test_an_extra_that_cannot_be_read_costs_only_itself(shop, monkeypatch):
    """The cake goes with its main photo and the extras ready before the unreadable one; the
    extra-photo step of the same run sends the whole set once the picture can be read."""
    (key,) = add_cakes(shop, 1, extra_images=2)
    second = evotor_hashes(shop, key)[2]
    read = item_photos.read_photo_bytes

    def unreadable_second(source, evotor):
        if source.photo_hash == second:
            raise OSError("connection reset")
        return read(source, evotor)

    monkeypatch.setattr(item_photos, "read_photo_bytes", unreadable_second)
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    ids = vk_photo_ids(shop, key)
    assert len(ids) == 3
    assert [pair[0] for pair in link(shop, key).extra_photos] == evotor_hashes(shop, key)[1:]
    assert [pair[1] for pair in link(shop, key).extra_photos] == ids[1:]
    assert shop.vk.stats()["calls_by_method"]["market.edit"] == 1  # the step, for the cake


def test_one_file_a_post_still_brings_every_photo(shop):
    """VK takes one file a bulk POST here: the main groups are refused twice and each item goes
    alone with its main photo; the extra-photo step's group is refused too, and each of its
    items then goes alone, so every item ends with both its photos."""
    keys = add_cakes(shop, 2, extra_images=1)
    shop.vk.set_photo_upload(bulk_max_files=1)
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.created == 7 and run.failed == 0
    for key in keys:
        ids = vk_photo_ids(shop, key)
        assert len(ids) == 2
        assert [pair[1] for pair in link(shop, key).extra_photos] == ids[1:]
    assert shop.vk.stats()["calls_by_method"]["market.edit"] == 2
