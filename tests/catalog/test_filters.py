"""What `sync.filters.selected_products` sends to VK, given the store and group switches."""

from __future__ import annotations

import pytest
from django.utils import timezone

from catalog.filters import EntityType, selected_products, sync_filter_set
from catalog.models import SyncFilter
from tests.catalog.conftest import make_catalog

pytestmark = pytest.mark.django_db

SECOND_STORE = "20200301-0000-0000-0000-000000000002"


@pytest.fixture
def catalog(owner):
    return make_catalog(owner, products=20)


def switch_store(user, catalog, enabled=True):
    sync_filter_set(
        user=user, entity_type=EntityType.STORE, entity_id=catalog.store.evotor_id, enabled=enabled
    )


def switch_group(user, catalog, name, enabled):
    sync_filter_set(
        user=user,
        entity_type=EntityType.GROUP,
        entity_id=catalog.groups[name].evotor_id,
        parent_entity_id=catalog.store.evotor_id,
        enabled=enabled,
    )


def selected(user, **kwargs) -> set[int]:
    return set(selected_products(user, **kwargs).values_list("pk", flat=True))


def everything(catalog) -> set[int]:
    return {p.pk for p in catalog.products}


def in_groups(catalog, *group_names) -> set[int]:
    """Products directly in these groups ("" = outside any group)."""
    ids = {catalog.groups[n].evotor_id if n else "" for n in group_names}
    return {p.pk for p in catalog.products if p.parent_evotor_id in ids}


def test_a_new_store_is_off_until_switched_on(owner, catalog):
    assert not selected_products(owner).exists()


def test_a_store_switched_on_sends_every_product(owner, catalog):
    switch_store(owner, catalog)
    assert selected(owner) == everything(catalog)


def test_a_group_switched_off_leaves_out_its_whole_subtree(owner, catalog):
    switch_store(owner, catalog)
    switch_group(owner, catalog, "Вода", False)

    assert selected(owner) == in_groups(catalog, "Соки", "Выпечка", "")


def test_a_subgroup_switched_on_under_an_excluded_parent_stays_out(owner, catalog):
    switch_store(owner, catalog)
    switch_group(owner, catalog, "Напитки", False)
    switch_group(owner, catalog, "Соки", True)

    assert selected(owner) == in_groups(catalog, "Выпечка", "")


def test_switching_a_group_back_on_includes_it_again(owner, catalog):
    switch_store(owner, catalog)
    switch_group(owner, catalog, "Выпечка", False)
    switch_group(owner, catalog, "Выпечка", True)

    assert selected(owner) == everything(catalog)
    assert SyncFilter.objects.filter(entity_type=EntityType.GROUP).count() == 1


def test_group_switches_belong_to_their_store(owner, catalog):
    # The same Evotor group ids in a second store (copied catalog): switched separately.
    ids = {name: g.evotor_id for name, g in catalog.groups.items()}
    second = make_catalog(owner, store_id=SECOND_STORE, name="Второй", products=20, group_ids=ids)
    switch_store(owner, catalog)
    switch_store(owner, second)
    switch_group(owner, catalog, "Выпечка", False)

    chosen = selected(owner)
    assert in_groups(second, "Выпечка") <= chosen
    assert not in_groups(catalog, "Выпечка") & chosen
    assert len(chosen) == len(everything(catalog)) * 2 - len(in_groups(catalog, "Выпечка"))


def test_removed_products_are_left_out_unless_asked_for(owner, catalog):
    switch_store(owner, catalog)
    gone = catalog.products[0]
    gone.is_removed, gone.removed_at = True, timezone.now()
    gone.save()

    assert gone.pk not in selected(owner)
    assert gone.pk in selected(owner, include_removed=True)


def test_another_merchants_switches_change_nothing_for_me(owner, other_merchant, catalog):
    sync_filter_set(
        user=other_merchant,
        entity_type=EntityType.STORE,
        entity_id=catalog.store.evotor_id,
        enabled=True,
    )
    assert not selected_products(owner).exists()
    assert not selected_products(other_merchant).exists()


def test_selection_costs_the_same_queries_whatever_the_catalog(
    owner, catalog, django_assert_num_queries
):
    switch_store(owner, catalog)
    switch_group(owner, catalog, "Вода", False)
    with django_assert_num_queries(4):  # store switches, group switches, tree, products
        list(selected_products(owner))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"entity_type": "album", "entity_id": "x"}, "album"),
        ({"entity_type": "store", "entity_id": ""}, "Эвотор"),
        ({"entity_type": "group", "entity_id": "g1"}, "магазин"),
    ],
)
def test_sync_filter_set_refuses_bad_input(owner, kwargs, message):
    with pytest.raises(ValueError, match=message):
        sync_filter_set(user=owner, enabled=True, **kwargs)
    assert not SyncFilter.objects.exists()
