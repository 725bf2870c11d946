"""Thumbnails and "Open in VK" links beside the products of a run and of the preview."""

from __future__ import annotations

import pytest
from django.urls import reverse

from connections.models import VkConnection
from sync.models import ItemLink, PhotoEntity, ProductPhoto, RunAction, RunItemStatus, SyncRunItem
from sync.pictures import ItemPicture, item_pictures
from tests.sync_ui.conftest import make_run, upload
from tests.vk_catalog.conftest import make_products

pytestmark = pytest.mark.django_db

GROUP = 200001


@pytest.fixture
def vk(owner):
    return VkConnection.objects.create(user=owner, access_token="vk-demo-token", group_id=GROUP)


def _link(user, product_id: str, vk_item_id: int | None) -> ItemLink:
    return ItemLink.objects.create(
        user=user, store_id="s1", product_id=product_id, vk_item_id=vk_item_id, sku=product_id
    )


def test_an_item_in_vk_shows_vks_thumbnail_and_a_link(owner, vk):
    make_products(owner, 1, start=77, thumb_url="https://img.example/77.jpg")
    pictures = item_pictures(owner, [("s1", "p1", 77)])
    assert pictures["s1", "p1", 77] == ItemPicture(
        thumb_url="https://img.example/77.jpg",
        vk_url=f"https://vk.com/market-{GROUP}?w=product-{GROUP}_77",
    )


def test_an_item_not_in_vk_shows_the_photo_the_merchant_uploaded(owner, vk, media):
    photo = ProductPhoto.objects.create(
        user=owner, store_id="s1", entity_type=PhotoEntity.PRODUCT, entity_id="p2", image=upload()
    )
    pictures = item_pictures(owner, [("s1", "p2", None)])
    assert pictures["s1", "p2", None] == ItemPicture(
        thumb_url=reverse("sync:photo_image", args=[photo.pk]), vk_url=""
    )


def test_nothing_known_means_no_picture(owner):
    assert item_pictures(owner, [("s1", "p3", 5)])["s1", "p3", 5] == ItemPicture()


def test_another_merchants_photos_and_items_are_never_used(owner, other_merchant, vk, media):
    make_products(other_merchant, 1, start=88, thumb_url="https://img.example/88.jpg")
    ProductPhoto.objects.create(
        user=other_merchant,
        store_id="s1",
        entity_type=PhotoEntity.PRODUCT,
        entity_id="p4",
        image=upload(),
    )
    pictures = item_pictures(owner, [("s1", "p4", 88)])
    assert pictures["s1", "p4", 88].thumb_url == ""


def test_run_details_show_thumbnails_and_vk_links(owner_client, owner, vk):
    make_products(owner, 1, start=61, thumb_url="https://img.example/61.jpg")
    run = make_run(owner, total=2, done=2, created=1, failed=1)
    for product_id, vk_id, status in (("p1", 61, RunItemStatus.OK), ("p2", None, "failed")):
        SyncRunItem.objects.create(
            run=run,
            link=_link(owner, product_id, vk_id),
            store_id="s1",
            product_id=product_id,
            product_name=f"Товар {product_id}",
            action=RunAction.CREATE,
            status=status,
            error="" if vk_id else "Invalid photo",
        )
    page = owner_client.get(reverse("sync:run_detail", args=[run.pk])).content.decode()
    assert 'src="https://img.example/61.jpg"' in page
    assert f'href="https://vk.com/market-{GROUP}?w=product-{GROUP}_61"' in page
    assert page.count("vk.com/market") == 1, "the item VK refused has no page in VK"


def test_run_details_are_paginated_by_fifty(owner_client, owner):
    run = make_run(owner, total=52, done=52, created=52)
    SyncRunItem.objects.bulk_create(
        SyncRunItem(
            run=run,
            store_id="s1",
            product_id=f"p{n}",
            product_name=f"Товар {n:02d}",
            action=RunAction.CREATE,
            status=RunItemStatus.OK,
        )
        for n in range(52)
    )
    first = owner_client.get(reverse("sync:run_detail", args=[run.pk])).content.decode()
    second = owner_client.get(
        reverse("sync:run_detail", args=[run.pk]) + "?page=2"
    ).content.decode()
    assert "Товар 49" in first and "Товар 50" not in first
    assert "Товар 50" in second and "Товар 51" in second and "Товар 49" not in second
