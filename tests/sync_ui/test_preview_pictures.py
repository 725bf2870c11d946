"""The preview's thumbnails: Evotor's photos through the site (small, lazy, no token in the page),
the merchant's uploaded photos, and VK's thumbnail for items already in VK."""

from __future__ import annotations

import io
import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from PIL import Image

from connections.evotor_client import EvotorClient
from sync.models import PhotoEntity, ProductPhoto
from sync.preview_pictures import THUMBNAIL_SIDE, evotor_photo_cache_key
from tests.sync_ui.conftest import EVOTOR_TOKEN, upload

pytestmark = pytest.mark.django_db

PREVIEW = reverse("sync:preview")
EVOTOR_PHOTO = re.compile(r'<img class="thumb-sm" src="(/sync/preview/evotor-photo/[^"]+)"[^>]*>')


def image_ids(shop, product_id: str) -> list[str]:
    return [i.id for i in EvotorClient(EVOTOR_TOKEN).list_product_images(shop.store_id, product_id)]


def evotor_photo_url(shop, key: str) -> str:
    image_id = image_ids(shop, shop.products[key])[0]
    return reverse("sync:evotor_photo", args=[shop.store_id, shop.products[key], image_id])


@pytest.fixture
def fresh_cache(shop):
    """The thumbnails' cache entries of the shop's products forgotten (Redis outlives a test)."""
    for product_id in shop.products.values():
        for image_id in image_ids(shop, product_id):
            cache.delete(evotor_photo_cache_key(shop.user, shop.store_id, product_id, image_id))
    return shop


def test_new_items_show_their_evotor_photo_through_the_site_lazily(owner_client, fresh_cache):
    shop = fresh_cache
    page = owner_client.get(PREVIEW).content.decode()
    tags = EVOTOR_PHOTO.findall(page)
    assert evotor_photo_url(shop, "tea") in tags
    assert len(tags) == 5  # every new item has its Evotor picture
    for tag in re.findall(r'<img class="thumb-sm"[^>]*>', page):
        assert 'loading="lazy"' in tag and 'width="40"' in tag and 'alt=""' in tag
    # Neither the merchant's token nor Evotor's own image address reaches the page.
    assert EVOTOR_TOKEN not in page
    assert shop.evotor.public_url not in page


def test_the_evotor_photo_is_a_small_jpeg_read_once(owner_client, fresh_cache):
    shop = fresh_cache
    url = evotor_photo_url(shop, "tea")
    before = shop.evotor.requests_by_kind.get("image_file", 0)
    response = owner_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, max-age=86400"
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "JPEG"
        assert max(image.size) == THUMBNAIL_SIDE
    assert shop.evotor.requests_by_kind.get("image_file", 0) == before + 1
    # Asked again (another page of the preview): from the cache, Evotor is not asked.
    assert owner_client.get(url).content == response.content
    assert shop.evotor.requests_by_kind.get("image_file", 0) == before + 1


def test_another_merchants_product_photo_is_not_found(other_client, fresh_cache):
    assert other_client.get(evotor_photo_url(fresh_cache, "tea")).status_code == 404


def test_the_photo_needs_a_login(client, fresh_cache):
    response = client.get(evotor_photo_url(fresh_cache, "tea"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_a_picture_evotor_no_longer_has_is_not_found(owner_client, fresh_cache):
    shop = fresh_cache
    url = reverse(
        "sync:evotor_photo",
        args=[shop.store_id, shop.products["tea"], "00000000-0000-0000-0000-000000000000"],
    )
    assert owner_client.get(url).status_code == 404


def test_a_product_without_an_evotor_photo_shows_the_one_uploaded_for_it(
    owner_client, fresh_cache, media
):
    shop = fresh_cache
    shop.add("water", "Вода питьевая 0,5 л", image=False)
    shop.refresh()
    photo = ProductPhoto.objects.create(
        user=shop.user,
        store_id=shop.store_id,
        entity_type=PhotoEntity.PRODUCT,
        entity_id=shop.products["water"],
        image=upload(),
    )
    page = owner_client.get(PREVIEW).content.decode()
    row = re.search(rf'<tr data-product="{shop.products["water"]}">.*?</tr>', page, re.S)
    assert row, page
    assert f'src="{reverse("sync:photo_image", args=[photo.pk])}"' in row.group(0)


def test_a_published_item_shows_vks_thumbnail_and_a_link_to_it(owner_client, fresh_cache):
    from vk_catalog.services import vk_catalog_refresh_for_user

    shop = fresh_cache
    shop.sync()
    vk_catalog_refresh_for_user(user=shop.user)
    shop.set("tea", price=170)
    shop.refresh()
    page = owner_client.get(PREVIEW).content.decode()
    row = re.search(rf'<tr data-product="{shop.products["tea"]}">.*?</tr>', page, re.S)
    assert row, page
    assert f'src="{shop.vk.public_url}/photo/' in row.group(0)
    assert "vk.com/market-" in row.group(0)
