"""Each item of a product with variants gets its own photos like a plain product (issue 14
parts 1 and 2 together): the main picture and up to 4 more in Evotor's order; a picture added to
one variant uploads that one alone, and the extra photos' edit leaves the variants grouped."""

from catalog.changes import catalog_product_image_changed
from sync.models import ItemLink, RunStatus
from sync.plan.photos import evotor_source

from .test_variants import add_tees

SIZES = {"S": 2, "M": 0, "L": 6}  # extra pictures in Evotor


def add_pictured_tees(shop):
    add_tees(shop, sizes=())
    for size, extra in SIZES.items():
        shop.add(
            f"tee-{size}",
            f"Футболка хлопковая {size}",
            group="Футболка",
            price=990,
            attributes_choices={"attr-size": f"size-{size}"},
            extra_images=extra,
        )
    shop.refresh()


def evotor_order(shop, key) -> list[str]:
    images = shop.evotor.images(shop.store_id, shop.products[key])
    return [evotor_source(image["id"], "").photo_hash for image in images[1:5]]


def vk_photos(shop, key) -> list[int]:
    return [photo["id"] for photo in shop.vk_item(key)["photos"]]


def link(shop, key) -> ItemLink:
    return ItemLink.objects.get(user=shop.user, product_id=shop.products[key])


def test_every_variant_gets_its_own_photos_in_evotors_order(shop):
    add_pictured_tees(shop)
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    for key, extra in (("tee-S", 2), ("tee-M", 0), ("tee-L", 4)):
        photos = vk_photos(shop, key)
        assert len(photos) == 1 + extra
        sent = link(shop, key).extra_photos
        assert [h for h, _id in sent] == evotor_order(shop, key)  # Evotor's order, at most 4
        assert [photo_id for _h, photo_id in sent] == photos[1:]  # after the main one in VK
    everyone = [vk_photos(shop, f"tee-{size}") for size in SIZES]
    assert len({p for photos in everyone for p in photos}) == sum(map(len, everyone))
    grouping = {shop.vk_item(f"tee-{size}")["variants_grouping_id"] for size in SIZES}
    assert len(grouping) == 1 and None not in grouping


def test_a_picture_added_to_one_variant_uploads_it_alone_and_keeps_the_group(shop):
    add_pictured_tees(shop)
    shop.sync()
    before = {size: vk_photos(shop, f"tee-{size}") for size in SIZES}
    grouping = shop.vk_item("tee-S")["variants_grouping_id"]
    shop.evotor.add_image(shop.store_id, shop.products["tee-M"])
    catalog_product_image_changed(
        user=shop.user, store_evotor_id=shop.store_id, product_id=shop.products["tee-M"]
    )
    saves = shop.vk.stats()["calls_by_method"]["market.saveProductPhotoBulk"]
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    after = {size: vk_photos(shop, f"tee-{size}") for size in SIZES}
    assert after["M"][0] == before["M"][0] and len(after["M"]) == 2
    assert after["S"] == before["S"] and after["L"] == before["L"]
    assert shop.vk.stats()["calls_by_method"]["market.saveProductPhotoBulk"] == saves + 1
    items = [shop.vk_item(f"tee-{size}") for size in SIZES]
    assert {item["variants_grouping_id"] for item in items} == {grouping}
    assert sum(item["is_main_variant"] for item in items) == 1
