"""A whole plan reads the catalog in chunks (sync/plan/chunks.py): with chunks of two products
the five-product shop plans, publishes, skips, hides and assigns skus as it does in one piece,
and a no-change plan holds no product and no link."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sync.models import ItemLink
from sync.plan.inputs import load_inputs, plan_from_inputs


@pytest.fixture
def small_chunks(settings):
    settings.SYNC_PLAN_CHUNK = 2


def test_a_first_publish_planned_in_chunks_creates_every_item_once(shop, small_chunks):
    plan = plan_from_inputs(load_inputs(shop.user))
    assert plan.counts["create"] == 5
    run = shop.sync()
    assert (run.status, run.created) == ("succeeded", 5)
    skus = [item["sku"] for item in shop.vk_items()]
    assert len(skus) == 5 == len(set(skus))


def test_a_no_change_plan_in_chunks_holds_no_product_and_counts_every_item(shop, small_chunks):
    shop.sync()
    shop.sync()  # stamps the links
    with CaptureQueriesContext(connection) as queries:
        inputs = load_inputs(shop.user)
    assert (inputs.products, inputs.links, inputs.unchanged) == ([], {}, 5)
    plan = plan_from_inputs(inputs)
    assert (plan.unchanged, plan.published, plan.is_empty) == (5, 5, True)
    # Three chunks of products (2 + 2 + 1), each with its links' query.
    chunk_reads = [q for q in queries.captured_queries if "catalog_cachedproduct" in q["sql"]]
    assert len(chunk_reads) >= 3


def test_removals_and_the_guard_count_items_of_every_chunk(shop, small_chunks):
    shop.sync()
    shop.sync()
    shop.remove("pie")
    shop.remove("bun")
    shop.refresh()
    plan = plan_from_inputs(load_inputs(shop.user))
    # Two of five visible items go (40 % > the 20 % guard): the guard counts the skipped ones.
    assert (plan.removals, plan.published, plan.unchanged) == (2, 5, 3)
    assert plan.guard_held
    assert {item.reason for item in plan.items} == {"removed_at_till"}


def test_a_new_product_in_a_later_chunk_never_takes_a_skipped_items_sku(shop, small_chunks):
    shop.sync()
    shop.sync()
    taken = ItemLink.objects.get(user=shop.user, product_id=shop.products["tea"]).sku
    shop.add("tea2", "Чай зелёный", article_number="ART-tea")
    run = shop.refresh_and_sync()
    assert (run.created, run.plan_summary["unchanged"]) == (1, 5)
    new = ItemLink.objects.get(user=shop.user, product_id=shop.products["tea2"])
    assert new.sku.lower() != taken.lower()


def test_a_skipped_products_vk_item_is_never_adopted_by_a_new_product(shop, small_chunks):
    from connections.models import VkConnection
    from sync.clients import vk_client_for
    from sync.publish.recovery import read_vk

    shop.sync()
    shop.sync()
    tea = ItemLink.objects.get(user=shop.user, product_id=shop.products["tea"])
    # A second product with the tea's name and article: the tea's VK item matches it.
    shop.add("tea2", "Чай чёрный листовой", article_number="ART-tea", price=150)
    shop.refresh()
    connection = VkConnection.objects.get(user=shop.user)
    vk_items, vk_albums = read_vk(vk_client_for(connection), connection.owner_id)
    assert tea.vk_item_id in {vk.vk_id for vk in vk_items}
    inputs = load_inputs(shop.user)
    assert [p.product_id for p in inputs.products] == [shop.products["tea2"]]
    plan = plan_from_inputs(inputs, vk_items=vk_items, vk_albums=vk_albums)
    assert plan.adoption_checked
    assert not plan.adoptions and not plan.adoption_reviews
    assert plan.counts["create"] == 1
