"""Whole plans skip products whose item is known to be as it should be (sync/plan/skip.py):
a no-change cycle computes no item and writes nothing, and anything that changes the item
makes the product planned again."""

from __future__ import annotations

from decimal import Decimal

from sync.models import ItemLink
from sync.plan.inputs import load_inputs


def stamped(shop) -> int:
    return ItemLink.objects.filter(user=shop.user).exclude(plan_hash="").count()


def settled(shop):
    """Published, then a no-change run that stamps every link."""
    assert shop.sync().status == "succeeded"
    run = shop.sync()
    assert run.plan_summary["unchanged"] == 5
    assert stamped(shop) == 5
    return shop


def test_a_no_change_cycle_computes_no_item_and_writes_nothing(shop):
    settled(shop)
    inputs = load_inputs(shop.user)
    assert inputs.products == []
    assert inputs.unchanged == 5
    assert inputs.links == {}
    writes = shop.write_calls()
    run = shop.refresh_and_sync()
    assert run.status == "succeeded"
    assert run.plan_summary["unchanged"] == 5
    assert run.vk_requests == 0
    assert shop.write_calls() == writes


def test_a_price_change_is_planned_despite_the_stamp(shop):
    settled(shop)
    shop.set("coffee", price=360)
    shop.refresh()
    inputs = load_inputs(shop.user)
    assert [p.product_id for p in inputs.products] == [shop.products["coffee"]]
    run = shop.sync()
    assert (run.updated, run.plan_summary["unchanged"]) == (1, 4)
    assert shop.vk_item("coffee")["price"]["amount"] == "36000"


def test_a_settings_change_plans_every_product_again(shop):
    settled(shop)
    shop.configure(price_markup_percent=Decimal(10))
    assert len(load_inputs(shop.user).products) == 5
    run = shop.sync()
    assert run.updated == 5
    assert shop.vk_item("tea")["price"]["amount"] == "16500"


def test_a_product_removed_at_the_till_is_hidden_while_the_rest_is_skipped(shop):
    settled(shop)
    shop.remove("pie")
    run = shop.refresh_and_sync()
    assert (run.hidden, run.plan_summary["unchanged"]) == (1, 4)
    assert shop.vk_item("pie")["availability"] == 2


def test_a_new_product_never_takes_the_sku_of_a_skipped_one(shop):
    settled(shop)
    taken = ItemLink.objects.get(user=shop.user, product_id=shop.products["tea"]).sku
    shop.add("tea2", "Чай зелёный", article_number="ART-tea")
    run = shop.refresh_and_sync()
    assert run.created == 1
    new = ItemLink.objects.get(user=shop.user, product_id=shop.products["tea2"])
    assert new.sku.lower() != taken.lower()
    assert ItemLink.objects.get(user=shop.user, product_id=shop.products["tea"]).sku == taken
