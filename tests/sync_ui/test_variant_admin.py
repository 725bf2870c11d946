"""Staff see the variant groups and properties EvoSync made (sync/admin.py), read-only."""

import pytest
from django.urls import reverse

from sync.models import VariantGroupLink, VkProperty

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["variantgrouplink", "vkproperty"])
def test_staff_list_the_variant_rows(staff_client, owner, model):
    VariantGroupLink.objects.create(user=owner, store_id="s", group_id="g-1", vk_item_group_id=5)
    VkProperty.objects.create(user=owner, title="Размер", vk_property_id=7)
    page = staff_client.get(reverse(f"admin:sync_{model}_changelist"))
    assert page.status_code == 200
    assert owner.email in page.content.decode()


def test_staff_cannot_add_a_variant_group_by_hand(staff_client):
    assert staff_client.get(reverse("admin:sync_variantgrouplink_add")).status_code == 403
