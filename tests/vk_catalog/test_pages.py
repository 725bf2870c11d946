"""The VK catalog pages: who sees what, what they show, and how many queries they cost."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from tests.vk_catalog.conftest import DEMO_GROUP, make_album, make_products
from vk_catalog.models import RefreshStatus, VkCatalogRefresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(owner, vk_connection):
    """The owner's cache: two albums, three items in the first, one item in no album."""
    shoes = make_album(owner, 11, title="Обувь", item_count=3, is_main=True)
    hats = make_album(owner, 12, title="Шапки", item_count=0, is_hidden=True)
    make_products(owner, 3, start=100, album=shoes)
    make_products(owner, 1, start=200, title="Без альбома")
    VkCatalogRefresh.objects.create(user=owner, status=RefreshStatus.OK)
    return {"shoes": shoes, "hats": hats}


def _pages(catalog) -> list[str]:
    return [
        reverse("vk_catalog:albums"),
        reverse("vk_catalog:products"),
        reverse("vk_catalog:products_without_album"),
        reverse("vk_catalog:album_products", args=[catalog["shoes"].pk]),
        reverse("vk_catalog:refresh_status"),
    ]


def test_owner_opens_every_page(owner_client, catalog):
    for url in _pages(catalog):
        assert owner_client.get(url).status_code == 200, url


def test_anonymous_visitor_is_sent_to_log_in(client, catalog):
    for url in [*_pages(catalog), reverse("vk_catalog:refresh")]:
        response = client.get(url) if "refresh" not in url else client.post(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login")), url


def test_another_merchants_album_is_not_found(other_client, catalog):
    url = reverse("vk_catalog:album_products", args=[catalog["shoes"].pk])
    assert other_client.get(url).status_code == 404


def test_another_merchant_sees_none_of_the_owners_items(other_client, catalog):
    albums = other_client.get(reverse("vk_catalog:albums")).content.decode()
    products = other_client.get(reverse("vk_catalog:products")).content.decode()
    assert "Обувь" not in albums
    assert "Товар 00100" not in products and "SKU-100" not in products


def test_albums_page_lists_albums_with_counts_and_the_all_items_entry(owner_client, catalog):
    page = owner_client.get(reverse("vk_catalog:albums")).content.decode()
    assert reverse("vk_catalog:album_products", args=[catalog["shoes"].pk]) in page
    assert reverse("vk_catalog:album_products", args=[catalog["hats"].pk]) in page
    assert reverse("vk_catalog:products") in page
    # Four live items in all, one of them in no album.
    assert reverse("vk_catalog:products_without_album") in page
    assert "<td>4</td>" in page and "<td>1</td>" in page and "<td>3</td>" in page


def test_albums_page_offers_a_refresh_button_with_csrf(owner_client, catalog):
    page = owner_client.get(reverse("vk_catalog:albums")).content.decode()
    assert f'action="{reverse("vk_catalog:refresh")}"' in page
    assert 'method="post"' in page and "csrfmiddlewaretoken" in page


def test_albums_page_without_vk_connection_says_so(owner_client):
    page = owner_client.get(reverse("vk_catalog:albums")).content.decode()
    assert "VK ещё не подключён" in page
    with contextlib.suppress(NoReverseMatch):
        assert reverse("connections:vk") in page
    assert reverse("vk_catalog:refresh") not in page


def test_albums_page_before_the_first_refresh_says_nothing_was_read(owner_client, vk_connection):
    page = owner_client.get(reverse("vk_catalog:albums")).content.decode()
    assert "ещё не загружались" in page
    assert reverse("vk_catalog:refresh") in page


def test_albums_page_shows_the_last_error(owner_client, catalog, owner):
    VkCatalogRefresh.objects.create(
        user=owner,
        status=RefreshStatus.FAILED,
        error="В сообществе выключен раздел «Товары».",
        error_code=1438,
    )
    page = owner_client.get(reverse("vk_catalog:albums")).content.decode()
    assert "В сообществе выключен раздел «Товары»." in page
    assert "badge-err" in page


def test_a_running_refresh_makes_the_status_poll(owner_client, catalog, owner):
    VkCatalogRefresh.objects.create(user=owner, status=RefreshStatus.RUNNING)
    page = owner_client.get(reverse("vk_catalog:albums")).content.decode()
    assert f'hx-get="{reverse("vk_catalog:refresh_status")}?reload=1"' in page
    response = owner_client.get(reverse("vk_catalog:refresh_status"))
    assert response.json()["done"] is False
    # A poll must never be answered from a cache.
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    htmx = owner_client.get(reverse("vk_catalog:refresh_status"), HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and htmx["Content-Type"].startswith("text/html")
    VkCatalogRefresh.objects.filter(user=owner).update(status=RefreshStatus.OK)
    assert owner_client.get(reverse("vk_catalog:refresh_status")).json()["done"] is True
    # The stores of the page changed too: htmx reloads it once the refresh is over.
    over = owner_client.get(
        reverse("vk_catalog:refresh_status") + "?reload=1", HTTP_HX_REQUEST="true"
    )
    assert over["HX-Refresh"] == "true"


def test_products_page_shows_photo_price_availability_and_sku(owner_client, owner, catalog):
    make_products(
        owner,
        1,
        start=300,
        title="Кеды красные",
        price=Decimal("1990.00"),
        old_price=Decimal("2490.00"),
        availability=2,
        sku="KED-42",
        thumb_url="https://img.example/ked.jpg",
        album=catalog["shoes"],
    )
    url = reverse("vk_catalog:album_products", args=[catalog["shoes"].pk])
    page = owner_client.get(url).content.decode()
    assert (
        '<img class="thumb" src="https://img.example/ked.jpg" alt="Кеды красные" loading="lazy"'
        in page
    )
    assert "1\u202f990\xa0₽" in page  # evosync.formats.money_text
    assert "<s" in page and "2\u202f490\xa0₽" in page
    assert "KED-42" in page
    assert "нет в наличии" in page
    assert "Без альбома" not in page


def test_products_page_hides_items_removed_in_vk(owner_client, owner, catalog):
    make_products(owner, 1, start=400, title="Снятый товар", is_removed=True)
    page = owner_client.get(reverse("vk_catalog:products")).content.decode()
    assert "Снятый товар" not in page


def test_items_in_no_album_page_lists_only_those(owner_client, catalog):
    page = owner_client.get(reverse("vk_catalog:products_without_album")).content.decode()
    assert "Без альбома" in page
    assert "Товар 00100" not in page


def test_products_page_is_paginated(owner_client, owner, vk_connection):
    album = make_album(owner, 1, title="Много")
    make_products(owner, 60, start=1000, album=album)
    url = reverse("vk_catalog:album_products", args=[album.pk])
    first = owner_client.get(url).content.decode()
    second = owner_client.get(url, {"page": 2}).content.decode()
    assert "Товар 01000" in first and "Товар 01049" in first and "Товар 01050" not in first
    assert "Товар 01050" in second and "Товар 01059" in second and "Товар 01000" not in second
    assert 'rel="next"' in first and 'rel="prev"' in second
    assert "60 товаров" in first and "Страница 2 из 2" in second
    # A page number out of range shows the last page instead of an error.
    assert owner_client.get(url, {"page": 99}).status_code == 200


@pytest.mark.parametrize("size", [3, 150])
def test_pages_cost_a_constant_number_of_queries(
    owner_client, owner, vk_connection, django_assert_max_num_queries, size
):
    albums = [make_album(owner, n, title=f"Альбом {n:03d}") for n in range(1, size // 3 + 2)]
    make_products(owner, size, start=10_000, album=albums[0])
    make_products(owner, size, start=20_000)
    VkCatalogRefresh.objects.create(user=owner, status=RefreshStatus.OK)
    # Today 8 and 7 (session, user, then the page's own); a little room for site-wide banners.
    with django_assert_max_num_queries(10):
        assert owner_client.get(reverse("vk_catalog:albums")).status_code == 200
    for url in (
        reverse("vk_catalog:album_products", args=[albums[0].pk]),
        reverse("vk_catalog:products"),
        reverse("vk_catalog:products_without_album"),
    ):
        with django_assert_max_num_queries(9):
            assert owner_client.get(url).status_code == 200


def test_pages_cost_the_same_number_of_queries_whatever_the_catalog_size(
    owner_client, owner, vk_connection
):
    album = make_album(owner, 1)
    VkCatalogRefresh.objects.create(user=owner, status=RefreshStatus.OK)
    urls = [
        reverse("vk_catalog:albums"),
        reverse("vk_catalog:album_products", args=[album.pk]),
        reverse("vk_catalog:products"),
        reverse("vk_catalog:products_without_album"),
    ]

    def queries_per_page() -> list[int]:
        counts = []
        for url in urls:
            with CaptureQueriesContext(db_connection) as queries:
                assert owner_client.get(url).status_code == 200
            counts.append(len(queries.captured_queries))
        return counts

    make_products(owner, 2, start=1, album=album)
    make_products(owner, 2, start=100)
    small = queries_per_page()
    for n in range(2, 42):
        make_album(owner, n)
    make_products(owner, 200, start=1000, album=album)
    make_products(owner, 200, start=5000)
    assert queries_per_page() == small


def test_refresh_button_queues_one_refresh(
    owner_client, owner, vk_connection, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = owner_client.post(reverse("vk_catalog:refresh"))
    assert response.status_code == 302
    assert response["Location"] == reverse("vk_catalog:albums")
    run = VkCatalogRefresh.objects.get(user=owner)
    assert run.status == RefreshStatus.QUEUED and run.trigger == "manual"
    assert len(callbacks) == 1

    # Pressing again while it waits queues nothing more.
    with django_capture_on_commit_callbacks() as callbacks:
        answer = owner_client.post(
            reverse("vk_catalog:refresh"), HTTP_ACCEPT="application/json"
        ).json()
    assert answer["ok"] is True and "уже" in answer["message"]
    assert 'id="vk-refresh-status"' in answer["html"]
    assert callbacks == []
    assert VkCatalogRefresh.objects.filter(user=owner).count() == 1


def test_refresh_button_without_vk_connection_explains_and_queues_nothing(owner_client, owner):
    response = owner_client.post(reverse("vk_catalog:refresh"), follow=True)
    assert "VK не подключён" in response.content.decode()
    assert not VkCatalogRefresh.objects.filter(user=owner).exists()


def test_refresh_needs_post_and_a_csrf_token(owner, vk_connection):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    assert browser.get(reverse("vk_catalog:refresh")).status_code == 405
    assert browser.post(reverse("vk_catalog:refresh")).status_code == 403
    assert not VkCatalogRefresh.objects.filter(user=owner).exists()


def test_refresh_now_reads_vk_and_the_albums_page_shows_the_result(
    owner_client, owner, vk_connection, fast_vk, django_capture_on_commit_callbacks
):
    album = fast_vk.add_album(DEMO_GROUP, "Новинки")
    fast_vk.add_item(DEMO_GROUP, title="Плед шерстяной", album_ids=[album["id"]], with_photo=True)

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("vk_catalog:refresh"))

    run = VkCatalogRefresh.objects.get(user=owner)
    assert run.status == RefreshStatus.OK and run.trigger == "manual"
    page = owner_client.get(reverse("vk_catalog:albums")).content.decode()
    assert "Новинки" in page and "data-poll-url" not in page
    cached = owner.vk_cached_albums.get()
    products = owner_client.get(reverse("vk_catalog:album_products", args=[cached.pk]))
    assert "Плед шерстяной" in products.content.decode()
