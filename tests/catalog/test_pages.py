"""The catalog pages: permissions, switches with and without JavaScript, filters, query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.models import CatalogRefresh, RefreshStatus, SyncFilter
from tests.catalog.conftest import connect_evotor, make_catalog

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json", "HTTP_X_REQUESTED_WITH": "fetch"}


@pytest.fixture
def catalog(owner):
    connect_evotor(owner)
    return make_catalog(owner, products=12)


def page_urls(catalog) -> list[str]:
    pk = catalog.store.pk
    return [
        reverse("catalog:groups", args=[pk]),
        reverse("catalog:products", args=[pk]),
    ]


def post_urls(catalog) -> list[str]:
    store, group = catalog.store, catalog.groups["Соки"]
    return [
        reverse("catalog:store_toggle", args=[store.pk]),
        reverse("catalog:group_toggle", args=[store.pk, group.pk]),
    ]


# --- permissions -----------------------------------------------------------------------------
def test_owner_sees_every_catalog_page(owner_client, catalog):
    for url in [reverse("catalog:stores"), *page_urls(catalog)]:
        assert owner_client.get(url).status_code == 200, url


def test_another_merchants_store_pages_are_not_found(other_client, catalog):
    for url in page_urls(catalog):
        assert other_client.get(url).status_code == 404, url


def test_another_merchants_switches_are_not_found_and_change_nothing(other_client, catalog):
    for url in post_urls(catalog):
        assert other_client.post(url, {"enabled": "1"}).status_code == 404, url
        assert other_client.post(url, {"enabled": "1"}, **JSON).status_code == 404, url
    assert not SyncFilter.objects.exists()


def test_a_group_of_another_store_cannot_be_switched_through_mine(owner, owner_client, catalog):
    other_store = make_catalog(owner, store_id="20200301-0000-0000-0000-000000000002", name="Б")
    url = reverse("catalog:group_toggle", args=[catalog.store.pk, other_store.groups["Соки"].pk])
    assert owner_client.post(url, {"enabled": "0"}).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, catalog):
    gets = [reverse("catalog:stores"), reverse("catalog:refresh_status"), *page_urls(catalog)]
    posts = [reverse("catalog:refresh"), *post_urls(catalog)]
    for response in [
        *(client.get(url) for url in gets),
        *(client.post(url, {"enabled": "1"}) for url in posts),
    ]:
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))
    assert not SyncFilter.objects.exists()
    assert not CatalogRefresh.objects.exists()


def test_switches_refuse_get(owner_client, catalog):
    for url in post_urls(catalog):
        assert owner_client.get(url).status_code == 405


# --- stores page -------------------------------------------------------------------------------
def test_stores_page_shows_counts_switch_and_last_refresh(owner, owner_client, catalog):
    CatalogRefresh.objects.create(
        user=owner,
        status=RefreshStatus.OK,
        requested_at=timezone.now(),
        started_at=timezone.now(),
        finished_at=timezone.now() - timezone.timedelta(minutes=5),
        stores=1,
        products=12,
    )

    page = owner_client.get(reverse("catalog:stores")).content.decode()

    assert "Продукты у дома" in page
    assert f'id="store-toggle-{catalog.store.pk}"' in page
    assert "<dd>5</dd>" in page and "<dd>12</dd>" in page
    assert "Обновлено 5\xa0минут назад" in page


def test_stores_page_shows_a_running_refresh_and_polls_it(owner, owner_client, catalog):
    CatalogRefresh.objects.create(
        user=owner, status=RefreshStatus.RUNNING, requested_at=timezone.now(), products=3000
    )

    page = owner_client.get(reverse("catalog:stores")).content.decode()

    assert "Идёт обновление" in page
    assert reverse("catalog:refresh_status") in page


def test_stores_page_shows_the_error_of_a_failed_refresh(owner, owner_client, catalog):
    CatalogRefresh.objects.create(
        user=owner,
        status=RefreshStatus.FAILED,
        requested_at=timezone.now(),
        finished_at=timezone.now(),
        error="Эвотор не отвечает.",
    )

    page = owner_client.get(reverse("catalog:stores")).content.decode()

    assert "Эвотор не отвечает." in page


def test_without_evotor_the_stores_page_invites_to_connect(owner_client):
    response = owner_client.get(reverse("catalog:stores"))

    assert response.status_code == 200
    assert reverse("connections:evotor") in response.content.decode()
    assert response.context["stores"] == []


def test_with_evotor_but_no_stores_yet_the_page_offers_a_refresh(owner, owner_client):
    connect_evotor(owner)

    page = owner_client.get(reverse("catalog:stores")).content.decode()

    assert reverse("catalog:refresh") in page
    assert "Магазинов пока нет" in page


def test_refresh_button_queues_one_refresh(
    owner, owner_client, catalog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = owner_client.post(reverse("catalog:refresh"), follow=True)
        owner_client.post(reverse("catalog:refresh"))

    assert response.redirect_chain[-1][0] == reverse("catalog:stores")
    assert CatalogRefresh.objects.get(user=owner).status == RefreshStatus.QUEUED
    assert len(callbacks) == 1
    page = response.content.decode()
    assert "В очереди" in page


def test_refresh_button_without_evotor_explains(owner_client):
    response = owner_client.post(reverse("catalog:refresh"), follow=True)

    assert not CatalogRefresh.objects.exists()
    assert "Эвотор" in response.content.decode()


def test_refresh_status_answers_json_for_polling(owner, owner_client, catalog):
    run = CatalogRefresh.objects.create(
        user=owner, status=RefreshStatus.RUNNING, requested_at=timezone.now(), products=1000
    )
    data = owner_client.get(reverse("catalog:refresh_status")).json()
    assert data["done"] is False and "1000" in data["html"]

    run.status, run.finished_at = RefreshStatus.OK, timezone.now()
    run.save()
    assert owner_client.get(reverse("catalog:refresh_status")).json()["done"] is True


# --- switches ----------------------------------------------------------------------------------
def test_store_switch_without_javascript_redirects_back_with_a_message(
    owner, owner_client, catalog
):
    back = reverse("catalog:groups", args=[catalog.store.pk])
    response = owner_client.post(
        reverse("catalog:store_toggle", args=[catalog.store.pk]),
        {"enabled": "1", "next": back},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == back
    assert SyncFilter.objects.get(user=owner, entity_type="store").enabled is True
    assert "будет публиковаться" in response.content.decode()


def test_store_switch_ignores_a_foreign_next_address(owner_client, catalog):
    response = owner_client.post(
        reverse("catalog:store_toggle", args=[catalog.store.pk]),
        {"enabled": "1", "next": "https://evil.example/"},
    )
    assert response.url == reverse("catalog:stores")


def test_store_switch_with_javascript_answers_the_new_fragment(owner, owner_client, catalog):
    url = reverse("catalog:store_toggle", args=[catalog.store.pk])

    on = owner_client.post(url, {"enabled": "1"}, **JSON).json()
    off = owner_client.post(url, {"enabled": "0"}, **JSON).json()

    assert on["ok"] and f'id="store-toggle-{catalog.store.pk}"' in on["html"]
    assert 'name="enabled" value="0"' in on["html"]
    assert 'name="enabled" value="1"' in off["html"]
    assert SyncFilter.objects.get(user=owner).enabled is False


def test_group_switch_leaves_out_the_subtree(owner, owner_client, catalog):
    owner_client.post(reverse("catalog:store_toggle", args=[catalog.store.pk]), {"enabled": "1"})
    drinks = catalog.groups["Напитки"]

    data = owner_client.post(
        reverse("catalog:group_toggle", args=[catalog.store.pk, drinks.pk]),
        {"enabled": "0"},
        **JSON,
    ).json()

    assert data["html"].startswith('<div id="group-tree">')
    # Соки, Вода and Минеральная follow Напитки.
    assert data["html"].count("Выключена вместе с родительской группой") == 3
    row = SyncFilter.objects.get(user=owner, entity_type="group")
    assert (row.entity_id, row.parent_entity_id, row.enabled) == (
        drinks.evotor_id,
        catalog.store.evotor_id,
        False,
    )


def test_group_switch_without_javascript_redirects_to_the_tree(owner_client, catalog):
    url = reverse("catalog:group_toggle", args=[catalog.store.pk, catalog.groups["Соки"].pk])

    response = owner_client.post(url, {"enabled": "0"})

    assert response.url == reverse("catalog:groups", args=[catalog.store.pk])


# --- groups and products pages -------------------------------------------------------------------
def test_group_tree_shows_nesting_and_subtree_counts(owner_client, catalog):
    response = owner_client.get(reverse("catalog:groups", args=[catalog.store.pk]))

    tree = response.context["tree"]
    (drinks,) = [n for n in tree.roots if n.group.name == "Напитки"]
    assert [c.group.name for c in drinks.children] == ["Вода", "Соки"]
    water = drinks.children[0]
    assert water.children[0].group.name == "Минеральная"
    assert drinks.total == water.total + drinks.children[1].total
    assert tree.ungrouped == 2  # products 5 and 10 of 12


def test_products_filter_by_group_includes_subgroups(owner_client, catalog):
    water = catalog.groups["Вода"]
    url = reverse("catalog:products", args=[catalog.store.pk])

    names = [p.name for p in owner_client.get(url, {"group": water.evotor_id}).context["page"]]

    assert names and all("Вода" in n or "Минеральная" in n for n in names)
    assert any("Минеральная" in n for n in names)


def test_products_search_by_name_ignores_case_also_in_cyrillic(owner_client, catalog):
    url = reverse("catalog:products", args=[catalog.store.pk])

    names = [p.name for p in owner_client.get(url, {"q": "СОКИ"}).context["page"]]

    assert names and all("Соки" in n for n in names)


def test_products_search_by_barcode(owner_client, catalog):
    url = reverse("catalog:products", args=[catalog.store.pk])

    page = owner_client.get(url, {"q": "4600000000007"}).context["page"]

    assert [p.evotor_id for p in page] == [catalog.products[7].evotor_id]


def test_products_page_shows_price_stock_availability_and_article(owner_client, catalog):
    page = owner_client.get(reverse("catalog:products", args=[catalog.store.pk])).content.decode()

    assert "ART-3" in page
    assert "13.50" in page or "13,50" in page
    assert "В наличии" in page and "Нет в наличии" in page and "Не продаётся" in page


def test_products_are_paginated_and_keep_the_filter(owner, owner_client):
    connect_evotor(owner)
    big = make_catalog(owner, products=120)
    url = reverse("catalog:products", args=[big.store.pk])

    first = owner_client.get(url, {"q": "товар"})
    second = owner_client.get(url, {"q": "товар", "page": 2})

    assert len(first.context["page"]) == 50
    assert "q=%D1%82%D0%BE%D0%B2%D0%B0%D1%80&amp;page=2" in first.content.decode()
    assert {p.pk for p in first.context["page"]}.isdisjoint({p.pk for p in second.context["page"]})


def test_an_unknown_group_filter_shows_everything(owner_client, catalog):
    url = reverse("catalog:products", args=[catalog.store.pk])
    assert owner_client.get(url, {"group": "nope"}).context["page"].paginator.count == 12


# --- query counts --------------------------------------------------------------------------------
@pytest.mark.parametrize("page", ["stores", "groups", "products"])
def test_pages_run_a_constant_number_of_queries(
    owner, owner_client, page, django_assert_max_num_queries
):
    connect_evotor(owner)
    small = make_catalog(owner, store_id="20190412-0000-0000-0000-0000000000A1", products=5)

    def url(catalog):
        if page == "stores":
            return reverse("catalog:stores")
        return reverse(f"catalog:{page}", args=[catalog.store.pk])

    with CaptureQueriesContext(connection) as baseline:
        owner_client.get(url(small))
    big = make_catalog(owner, store_id="20190412-0000-0000-0000-0000000000B2", products=300)
    with django_assert_max_num_queries(len(baseline)):
        owner_client.get(url(big))
