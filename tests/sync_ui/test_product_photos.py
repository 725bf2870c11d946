"""Several photos the merchant uploads for a product (issue 14 part 2): added after the main
one up to VK's five, reordered, removed; owner-checked, CSRF-protected, bad files refused with
a clear error; published to VK as the main photo and `photo_ids` in that order."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from sync.models import ItemLink, ProductPhoto
from tests.sync_ui.conftest import upload

pytestmark = pytest.mark.django_db


def page_url(shop, key="tea"):
    return reverse("sync:photo_upload", args=[shop.store_id, "product", shop.products[key]])


def photos_of(shop, key="tea") -> list[ProductPhoto]:
    return list(
        ProductPhoto.objects.filter(user=shop.user, entity_id=shop.products[key]).order_by(
            "position"
        )
    )


def add(client, shop, name, *, key="tea", main=False):
    data = {"image": upload(name)}
    if not main:
        data["add"] = "1"
    return client.post(page_url(shop, key), data)


def test_photos_are_added_after_the_main_one_in_order(owner_client, shop):
    assert add(owner_client, shop, "main.png", main=True).status_code == 302
    add(owner_client, shop, "second.png")
    add(owner_client, shop, "third.png")
    photos = photos_of(shop)
    assert [p.position for p in photos] == [0, 1, 2]
    assert [p.image.name.split("/")[-1][:5] for p in photos] == ["main.", "secon", "third"]
    page = owner_client.get(page_url(shop)).content.decode()
    assert "Make it the main photo" in page or "Сделать главной" in page


def test_a_sixth_photo_is_refused_with_a_clear_error(owner_client, shop):
    add(owner_client, shop, "main.png", main=True)
    for n in range(4):
        add(owner_client, shop, f"p{n}.png")
    response = add(owner_client, shop, "sixth.png")
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert len(photos_of(shop)) == 5


def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_lost(owner_client, shop):
    add(owner_client, shop, "main.png", main=True)
    bad = upload("notes.png", content=b"this is not a picture")
    response = owner_client.post(page_url(shop), {"image": bad, "add": "1"})
    assert response.status_code == 200
    assert response.context["form"].errors["image"]
    assert len(photos_of(shop)) == 1


def test_moving_a_photo_up_makes_it_the_main_one(owner_client, shop):
    add(owner_client, shop, "main.png", main=True)
    add(owner_client, shop, "second.png")
    first, second = photos_of(shop)
    response = owner_client.post(reverse("sync:photo_move", args=[second.pk]), {"direction": "up"})
    assert response.status_code == 302
    assert [p.pk for p in photos_of(shop)] == [second.pk, first.pk]


def test_removing_the_main_photo_moves_the_next_one_up(owner_client, shop):
    add(owner_client, shop, "main.png", main=True)
    add(owner_client, shop, "second.png")
    first, second = photos_of(shop)
    owner_client.post(reverse("sync:photo_delete", args=[first.pk]))
    (left,) = photos_of(shop)
    assert (left.pk, left.position) == (second.pk, 0)


def test_another_merchant_can_neither_move_nor_see_the_photos(
    owner_client, client, other_merchant, shop
):
    add(owner_client, shop, "main.png", main=True)
    add(owner_client, shop, "second.png")
    first, second = photos_of(shop)
    client.force_login(other_merchant)
    move = reverse("sync:photo_move", args=[second.pk])
    assert client.post(move, {"direction": "up"}).status_code == 404
    assert client.get(page_url(shop)).status_code == 404
    assert [p.pk for p in photos_of(shop)] == [first.pk, second.pk]


def test_moving_needs_the_csrf_token(owner, shop):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(owner)
    photo = ProductPhoto.objects.create(
        user=owner,
        store_id=shop.store_id,
        entity_type="product",
        entity_id=shop.products["tea"],
        image=upload("a.png"),
    )
    response = csrf_client.post(reverse("sync:photo_move", args=[photo.pk]), {"direction": "up"})
    assert response.status_code == 403


def test_the_merchants_photos_reach_vk_in_their_order(owner_client, shop):
    shop.set("tea", image=False)
    shop.refresh()
    add(owner_client, shop, "main.png", main=True)
    add(owner_client, shop, "second.png")
    add(owner_client, shop, "third.png")
    run = shop.sync()
    assert run.status == "succeeded", run.error
    link = ItemLink.objects.get(user=shop.user, product_id=shop.products["tea"])
    ids = [photo["id"] for photo in shop.vk_item("tea")["photos"]]
    assert len(ids) == 3 and [pair[1] for pair in link.extra_photos] == ids[1:]
    # Swap the two extra photos: VK gets the new order, nothing is uploaded again.
    _main, _second, third = photos_of(shop)
    owner_client.post(reverse("sync:photo_move", args=[third.pk]), {"direction": "up"})
    saves = shop.vk.stats()["calls_by_method"]["market.saveProductPhotoBulk"]
    shop.sync()
    assert [photo["id"] for photo in shop.vk_item("tea")["photos"]] == [ids[0], ids[2], ids[1]]
    assert shop.vk.stats()["calls_by_method"]["market.saveProductPhotoBulk"] == saves


def test_the_preview_says_how_many_photos_a_new_item_gets(owner_client, shop):
    shop.set("tea", image=False)
    shop.refresh()
    add(owner_client, shop, "main.png", main=True)
    add(owner_client, shop, "second.png")
    add(owner_client, shop, "third.png")
    response = owner_client.get(reverse("sync:preview"))
    rows = {row.item.product_id: row for row in response.context["rows"]}
    assert rows[shop.products["tea"]].photos == (3, True)
    assert 'data-photos="3"' in response.content.decode()


def test_the_preview_counts_a_new_items_evotor_pictures_it_read(owner_client, shop):
    shop.add("cake", "Торт «Наполеон»", extra_images=2)
    shop.refresh()
    response = owner_client.get(reverse("sync:preview"))
    rows = {row.item.product_id: row for row in response.context["rows"]}
    assert rows[shop.products["cake"]].photos == (3, True)
    assert rows[shop.products["tea"]].photos == (1, False)


def test_the_preview_says_evotors_unread_pictures_would_come_before_the_merchants(
    owner_client, shop
):
    # The tea has a picture in Evotor, unread: the merchant's three photos are what the preview
    # knows of, but Evotor's picture wins at publish, and the page says so.
    add(owner_client, shop, "main.png", main=True)
    add(owner_client, shop, "second.png")
    add(owner_client, shop, "third.png")
    response = owner_client.get(reverse("sync:preview"))
    row = re.search(
        rf'<tr data-product="{shop.products["tea"]}">.*?</tr>', response.content.decode(), re.S
    )[0]
    assert 'data-photos="3"' in row and "data-photos-unless-evotor" in row
    shop.sync()
    assert len(shop.vk_item("tea")["photos"]) == 1


def test_the_preview_tells_of_a_reorder_that_changes_nothing_else(owner_client, shop):
    shop.set("tea", image=False)
    shop.refresh()
    add(owner_client, shop, "main.png", main=True)
    add(owner_client, shop, "second.png")
    add(owner_client, shop, "third.png")
    shop.sync()
    assert owner_client.get(reverse("sync:preview")).context["extras_pending"] == 0
    _main, _second, third = photos_of(shop)
    owner_client.post(reverse("sync:photo_move", args=[third.pk]), {"direction": "up"})
    response = owner_client.get(reverse("sync:preview"))
    assert response.context["extras_pending"] == 1
    assert 'data-extras-pending="1"' in response.content.decode()


def test_removing_an_extra_photo_removes_it_in_vk(owner_client, shop):
    shop.set("tea", image=False)
    shop.refresh()
    add(owner_client, shop, "main.png", main=True)
    add(owner_client, shop, "second.png")
    add(owner_client, shop, "third.png")
    shop.sync()
    ids = [photo["id"] for photo in shop.vk_item("tea")["photos"]]
    _main, second, _third = photos_of(shop)
    owner_client.post(reverse("sync:photo_delete", args=[second.pk]))
    shop.sync()
    assert [photo["id"] for photo in shop.vk_item("tea")["photos"]] == [ids[0], ids[2]]
    link = ItemLink.objects.get(user=shop.user, product_id=shop.products["tea"])
    assert [pair[1] for pair in link.extra_photos] == [ids[2]]
