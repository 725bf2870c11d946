"""The VK catalog pages after a publish with issue 14's features: each item's stock as VK shows
it, how many photos it has, and which variant of a product it is; a sale at the till shows there
at once through the targeted run (sync/publish/vk_cache.py), without reading VK again."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from catalog.changes import catalog_changes_read
from sync.models import RunStatus
from sync.plan.inputs import sync_settings_get
from tests.sync_engine.test_variants import add_tees
from vk_catalog.services import vk_catalog_refresh_for_user

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("vk_catalog:products")


def row_of(page: str, title: str) -> str:
    rows = re.findall(r"<tr>.*?</tr>", page, re.S)
    return next(row for row in rows if title in row)


@pytest.fixture
def published(shop):
    settings = sync_settings_get(shop.user)
    settings.publish_stock = True
    settings.save()
    shop.add("cake", "Торт «Наполеон»", group="Выпечка", extra_images=2, quantity=4)
    add_tees(shop)
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    vk_catalog_refresh_for_user(user=shop.user)
    return shop


def page(client) -> str:
    with translation.override("ru"):
        return client.get(PRODUCTS, HTTP_ACCEPT_LANGUAGE="ru").content.decode()


def test_each_item_says_its_stock_photos_and_variant(owner_client, published):
    html = page(owner_client)
    cake = row_of(html, "Торт «Наполеон»")
    assert 'data-stock="4"' in cake and "осталось 4" in cake
    assert 'data-photo-count="3"' in cake and "3 фото" in cake
    tea = row_of(html, "Чай чёрный листовой")
    assert 'data-stock="10"' in tea and "data-photo-count" not in tea  # one photo: not said
    tees = [row_of(html, f"Футболка хлопковая {size}") for size in ("S", "M", "L")]
    assert sum("основной" in row for row in tees) == 1
    assert len({re.search(r'data-variant-group="(\d+)"', row)[1] for row in tees}) == 1


def test_a_sale_at_the_till_shows_at_once_without_reading_vk(
    owner_client, published, django_capture_on_commit_callbacks
):
    shop = published
    shop.set("cake", quantity=1)
    reads = shop.vk.stats()["requests_by_method"].get("market.get", 0)
    with django_capture_on_commit_callbacks(execute=True):
        catalog_changes_read(user=shop.user)
    assert shop.vk_item("cake")["stock_amount"] == 1
    assert 'data-stock="1"' in row_of(page(owner_client), "Торт «Наполеон»")
    assert shop.vk.stats()["requests_by_method"].get("market.get", 0) == reads


def test_without_stock_publishing_no_count_is_shown(owner_client, shop):
    shop.sync()
    vk_catalog_refresh_for_user(user=shop.user)
    assert "data-stock=" not in page(owner_client)
