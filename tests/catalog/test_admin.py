"""The read-only admin lists of the cached catalog."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import CatalogRefresh
from tests.catalog.conftest import make_catalog

pytestmark = pytest.mark.django_db

MODELS = ["cachedstore", "cachedgroup", "cachedproduct", "catalogrefresh"]


@pytest.fixture
def catalogs(owner, other_merchant):
    mine = make_catalog(owner, products=3)
    make_catalog(other_merchant, name="Чужой магазин", products=3)
    CatalogRefresh.objects.create(user=owner, requested_at=timezone.now())
    return mine


@pytest.mark.parametrize("model", MODELS)
def test_staff_see_each_list_and_can_filter_by_user(staff_client, owner, catalogs, model):
    url = reverse(f"admin:catalog_{model}_changelist")

    everything = staff_client.get(url)
    mine = staff_client.get(url, {"user__id__exact": owner.pk})
    searched = staff_client.get(url, {"q": "owner@example.ru"})

    assert everything.status_code == mine.status_code == searched.status_code == 200
    assert {o.user_id for o in mine.context["cl"].result_list} == {owner.pk}
    assert {o.user_id for o in searched.context["cl"].result_list} == {owner.pk}


@pytest.mark.parametrize("model", MODELS)
def test_the_cache_cannot_be_edited_in_the_admin(staff_client, catalogs, model):
    assert staff_client.get(reverse(f"admin:catalog_{model}_add")).status_code == 403


def test_staff_can_open_a_product(staff_client, catalogs):
    product = catalogs.products[0]
    url = reverse("admin:catalog_cachedproduct_change", args=[product.pk])
    response = staff_client.get(url)
    assert response.status_code == 200
    assert product.name in response.content.decode()


def test_merchants_cannot_open_the_admin(owner_client, catalogs):
    url = reverse("admin:catalog_cachedproduct_changelist")
    assert owner_client.get(url).status_code == 302
