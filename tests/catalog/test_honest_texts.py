"""Catalog pages that do not contradict the state (issue 12 point 5)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import CachedStore, CatalogRefresh, RefreshStatus, SyncFilter
from tests.catalog.conftest import connect_evotor, make_catalog

pytestmark = pytest.mark.django_db

SECOND = "20190412-0000-0000-0000-000000000002"
THIRD = "20190412-0000-0000-0000-000000000003"


@pytest.fixture
def catalog(owner):
    connect_evotor(owner)
    return make_catalog(owner, products=5)


@pytest.fixture
def locked(owner, catalog):
    """A second store Evotor gives no access to (402/403 at the last refresh)."""
    store = make_catalog(owner, store_id=SECOND, name="Закрытый магазин", products=1).store
    CachedStore.objects.filter(pk=store.pk).update(is_accessible=False)
    return store


def test_a_store_evotor_gives_no_access_to_offers_no_switch_on(owner_client, locked):
    page = owner_client.get(reverse("catalog:stores")).content.decode()
    card = page[page.index(f'id="store-toggle-{locked.pk}"') :]
    card = card[: card.index("</div>")]
    assert "data-no-access" in card
    assert reverse("catalog:store_toggle", args=[locked.pk]) not in card


def test_switching_on_a_store_without_access_is_refused(owner, owner_client, locked):
    url = reverse("catalog:store_toggle", args=[locked.pk])
    response = owner_client.post(url, {"enabled": "1"}, follow=True)
    assert "нет доступа" in response.content.decode()
    assert not SyncFilter.objects.filter(user=owner).exists()


def test_the_store_count_counts_the_cards_shown(owner, owner_client, catalog, locked):
    make_catalog(owner, store_id=THIRD, name="Третий", products=1)
    now = timezone.now()
    CatalogRefresh.objects.create(
        user=owner,
        status=RefreshStatus.OK,
        stores=2,
        products=7,
        requested_at=now,
        finished_at=now,
    )
    page = owner_client.get(reverse("catalog:stores")).content.decode()
    assert page.count('class="card" id="store-') == 3
    assert "3 магазина" in page and "2 магазина" not in page


def test_groups_of_a_store_that_is_off_offer_no_switch(owner_client, catalog):
    page = owner_client.get(reverse("catalog:groups", args=[catalog.store.pk])).content.decode()
    assert "Не публикуется" in page
    assert (
        'action="'
        + reverse("catalog:group_toggle", args=[catalog.store.pk, catalog.groups["Соки"].pk])
        not in page
    )


def test_groups_of_a_store_that_is_on_can_be_left_out(owner_client, catalog):
    owner_client.post(reverse("catalog:store_toggle", args=[catalog.store.pk]), {"enabled": "1"})
    page = owner_client.get(reverse("catalog:groups", args=[catalog.store.pk])).content.decode()
    assert (
        reverse("catalog:group_toggle", args=[catalog.store.pk, catalog.groups["Соки"].pk]) in page
    )
