"""The admin's read-only lists of the VK catalog cache."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.vk_catalog.conftest import make_album, make_products
from vk_catalog.models import RefreshStatus, VkCatalogRefresh

pytestmark = pytest.mark.django_db

MODELS = ["vkcachedalbum", "vkcachedproduct", "vkcatalogrefresh"]


@pytest.fixture
def cache(owner, other_merchant):
    for user in (owner, other_merchant):
        album = make_album(user, 1, title=f"Подборка {user.email}")
        make_products(user, 2, album=album, title=f"Товар {user.email}")
        VkCatalogRefresh.objects.create(user=user, status=RefreshStatus.OK)


@pytest.mark.parametrize("model", MODELS)
def test_staff_search_and_filter_the_lists_by_merchant(staff_client, owner, cache, model):
    url = reverse(f"admin:vk_catalog_{model}_changelist")
    assert staff_client.get(url).status_code == 200
    by_email = staff_client.get(url, {"q": owner.email})
    assert by_email.status_code == 200
    assert (
        by_email.context["cl"].result_count
        == by_email.context["cl"].queryset.filter(user=owner).count()
    )
    by_user = staff_client.get(url, {"user__id__exact": owner.pk})
    assert by_user.status_code == 200
    assert {row.user_id for row in by_user.context["cl"].result_list} == {owner.pk}


@pytest.mark.parametrize("model", MODELS)
def test_the_lists_are_read_only(staff_client, model):
    assert staff_client.get(reverse(f"admin:vk_catalog_{model}_add")).status_code == 403
