"""Several photos (issue 14 part 2): Evotor's pictures after the first become VK's `photo_ids`
in Evotor's order, at most 4; only pictures that changed are uploaded again; nothing changed,
nothing sent."""

from __future__ import annotations

from catalog.changes import catalog_product_image_changed
from sync.models import ItemLink, RunStatus
from sync.plan.photo_set import extras_to_send
from sync.plan.rules import PhotoSource


def source(n: int) -> PhotoSource:
    return PhotoSource("evotor", f"evotor:img-{n}", f"http://x/{n}.png")


# --- what to send ---------------------------------------------------------------------------------
def test_the_same_pictures_in_the_same_order_send_nothing():
    sent = [[source(1).photo_hash, 11], [source(2).photo_hash, 12]]
    assert extras_to_send([source(1), source(2)], sent) is None
    assert extras_to_send([], []) is None


def test_a_new_picture_is_uploaded_and_the_others_keep_their_vk_photos():
    sent = [[source(1).photo_hash, 11]]
    assert extras_to_send([source(3), source(1)], sent) == [
        (source(3).photo_hash, None),
        (source(1).photo_hash, 11),
    ]


def test_a_reorder_uploads_nothing_and_no_picture_left_sends_nothing():
    sent = [[source(1).photo_hash, 11], [source(2).photo_hash, 12]]
    assert extras_to_send([source(2), source(1)], sent) == [
        (source(2).photo_hash, 12),
        (source(1).photo_hash, 11),
    ]
    # VK has no documented way to clear photo_ids: the ones there stay.
    assert extras_to_send([], sent) is None


# --- through both sandboxes -----------------------------------------------------------------------
def photo_ids(shop, key) -> list[int]:
    return [photo["id"] for photo in shop.vk_item(key)["photos"]]


def link(shop, key) -> ItemLink:
    return ItemLink.objects.get(user=shop.user, product_id=shop.products[key])


def test_first_publish_sends_every_evotor_picture_main_first(shop):
    shop.add("cake", "Торт «Наполеон»", extra_images=2)
    shop.refresh()
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    ids = photo_ids(shop, "cake")
    assert len(ids) == 3 and len(set(ids)) == 3
    assert [pair[1] for pair in link(shop, "cake").extra_photos] == ids[1:]
    assert all(len(photo_ids(shop, key)) == 1 for key in ("tea", "coffee", "bun"))
    calls = shop.vk.stats()["calls_by_method"]
    # The cake's extras ride its main photo: in its group's upload, save and market.add.
    assert "market.edit" not in calls
    assert calls["market.saveProductPhotoBulk"] == 2  # six items, five a group


def test_a_resync_with_nothing_changed_sends_nothing(shop):
    shop.add("cake", "Торт «Наполеон»", extra_images=2)
    shop.refresh()
    shop.sync()
    requests = sum(shop.vk.stats()["requests_by_method"].values())
    writes = shop.write_calls()
    run = shop.refresh_and_sync()
    assert run.total == 0 and run.vk_requests == 0
    assert shop.write_calls() == writes
    assert sum(shop.vk.stats()["requests_by_method"].values()) == requests


def test_a_picture_added_in_evotor_uploads_only_that_one(shop):
    shop.add("cake", "Торт «Наполеон»", extra_images=1)
    shop.refresh()
    shop.sync()
    before = photo_ids(shop, "cake")
    shop.evotor.add_image(shop.store_id, shop.products["cake"])
    catalog_product_image_changed(
        user=shop.user, store_evotor_id=shop.store_id, product_id=shop.products["cake"]
    )
    saves = shop.vk.stats()["calls_by_method"]["market.saveProductPhotoBulk"]
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    after = photo_ids(shop, "cake")
    assert after[:2] == before and len(after) == 3
    assert shop.vk.stats()["calls_by_method"]["market.saveProductPhotoBulk"] == saves + 1


def test_a_main_picture_replaced_keeps_the_extra_photos(shop):
    shop.add("cake", "Торт «Наполеон»", extra_images=2)
    shop.refresh()
    shop.sync()
    before = photo_ids(shop, "cake")
    shop.evotor.replace_image(shop.store_id, shop.products["cake"])
    catalog_product_image_changed(
        user=shop.user, store_evotor_id=shop.store_id, product_id=shop.products["cake"]
    )
    calls = shop.vk.stats()["calls_by_method"]
    edits, saves = calls.get("market.edit", 0), calls["market.saveProductPhotoBulk"]
    photos = len(shop.vk.api.photos)
    shop.sync()
    after = photo_ids(shop, "cake")
    assert after[0] != before[0] and after[1:] == before[1:]
    calls = shop.vk.stats()["calls_by_method"]
    assert calls["market.edit"] == edits + 1
    # The replaced picture alone is uploaded again: one save, one photo in it.
    assert calls["market.saveProductPhotoBulk"] == saves + 1
    assert len(shop.vk.api.photos) == photos + 1


def test_more_than_four_extra_pictures_send_the_first_four(shop):
    shop.add("cake", "Торт «Наполеон»", extra_images=6)
    shop.refresh()
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert len(photo_ids(shop, "cake")) == 5


def test_links_from_before_are_read_a_bounded_number_per_run(shop, monkeypatch):
    from sync.publish import extra_photos

    shop.add("cake", "Торт «Наполеон»", extra_images=1)
    shop.add("pie2", "Пирог с вишней", extra_images=1)
    shop.refresh()
    shop.sync()
    # As if made before extra photos existed: nothing read, nothing sent.
    ItemLink.objects.filter(user=shop.user).update(evotor_extra_images=None, extra_photos=[])
    monkeypatch.setattr(extra_photos, "READS_PER_RUN", 4)
    unread = ItemLink.objects.filter(user=shop.user, evotor_extra_images__isnull=True)
    assert unread.count() == 7
    shop.sync()
    assert unread.count() == 3
    shop.sync()
    assert unread.count() == 0
    links = ItemLink.objects.filter(
        user=shop.user, product_id__in=[shop.products["cake"], shop.products["pie2"]]
    )
    assert [len(link.extra_photos) for link in links] == [1, 1]
