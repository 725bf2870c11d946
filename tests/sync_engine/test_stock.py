"""Stock in VK (issue 14 part 4): `stock_amount` from Evotor's quantity, off by default, rounded
down for weighed goods, a floor per store, VK's range; a sale rides the change path and costs no
VK write while the figure VK shows stays the same."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sync.models import RunStatus
from sync.plan import rules, stock
from sync.plan.item_plan import diff_fields, plan_existing
from sync.plan.rules import PhotoSource, RuleSettings, SourceProduct
from sync.plan.snapshots import LinkSnapshot

PHOTO = PhotoSource("evotor", "evotor:img-1:1", "http://x/img.png")


def product(**overrides) -> SourceProduct:
    values = dict(
        store_id="S1",
        product_id="p-1",
        name="Сыр российский",
        price=Decimal("500"),
        measure_name="шт",
        quantity=Decimal("7"),
    )
    values.update(overrides)
    return SourceProduct(**values)


ON = RuleSettings(category_id=1, publish_stock=True)


# --- the figure -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("quantity", "floor", "shown"),
    [
        (Decimal("7"), 0, 7),
        (Decimal("2.750"), 0, 2),  # weighed: whole units only, rounded down
        (Decimal("0.999"), 0, 0),
        (Decimal("-3"), 0, 0),  # sold below zero at the till
        (Decimal("2"), 3, 0),  # "show 0 below 3"
        (Decimal("3"), 3, 3),
        (Decimal("3.5"), 4, 0),
        (Decimal("5000000"), 0, stock.STOCK_MAX),  # VK's top
    ],
)
def test_the_shown_figure_rounds_down_floors_and_clamps(quantity, floor, shown):
    assert stock.stock_figure(quantity, floor=floor) == shown


def test_no_quantity_from_evotor_sends_no_figure():
    assert stock.stock_figure(None) is None


def test_stock_is_not_published_by_default():
    item = rules.desired_item(product(), RuleSettings(category_id=1), photo=PHOTO)
    assert item.fields["stock_amount"] is None


def test_the_floor_is_per_store():
    settings = RuleSettings(category_id=1, publish_stock=True, stock_floors=(("S2", 10),))
    assert rules.desired_item(product(), settings, photo=PHOTO).fields["stock_amount"] == 7
    other = product(store_id="S2")
    assert rules.desired_item(other, settings, photo=PHOTO).fields["stock_amount"] == 0


def test_floors_from_the_settings_are_cleaned():
    assert stock.floors_for_rules({"S1": "4", "S2": 0, "S3": "x", "S4": 10**9}) == (
        ("S1", 4),
        ("S4", stock.FLOOR_MAX),
    )


# --- planning -------------------------------------------------------------------------------------
def published_link(**fields) -> LinkSnapshot:
    item = rules.desired_item(product(), ON, photo=PHOTO)
    return LinkSnapshot(
        id=1,
        store_id="S1",
        product_id="p-1",
        vk_item_id=10,
        sku=item.fields["sku"],
        state="published",
        published_fields={**item.fields, "hidden": False, **fields},
        photo_hash=PHOTO.photo_hash,
    )


def plan_for(quantity, link, settings=ON):
    from sync.plan.album_index import AlbumIndex

    item = rules.desired_item(product(quantity=quantity), settings, photo=PHOTO)
    return plan_existing(item, link, AlbumIndex([], [item]), "")


def test_a_sale_that_changes_the_figure_plans_one_edit_of_stock_alone():
    planned = plan_for(Decimal("6"), published_link())
    assert planned.send_fields == {"stock_amount": 6}
    assert planned.changes == {"stock_amount": [7, 6]}


def test_a_weighed_sale_within_the_same_whole_unit_plans_nothing():
    link = published_link(stock_amount=2)
    assert plan_for(Decimal("2.75"), link) is None
    assert plan_for(Decimal("2.10"), link) is None


def test_a_sale_below_the_floor_plans_nothing_once_zero_is_shown():
    settings = RuleSettings(category_id=1, publish_stock=True, stock_floors=(("S1", 5),))
    link = published_link(stock_amount=0)
    assert plan_for(Decimal("4"), link, settings) is None
    assert plan_for(Decimal("1"), link, settings) is None


def test_zero_differs_from_no_figure():
    assert diff_fields({"stock_amount": None}, {"stock_amount": 0}) == {"stock_amount": [None, 0]}


def test_switching_stock_off_clears_the_figure_in_vk():
    planned = plan_for(Decimal("7"), published_link(), RuleSettings(category_id=1))
    assert planned.changes == {"stock_amount": [7, None]}
    assert rules.vk_params(planned.send_fields) == {"stock_amount": stock.NOT_TRACKED}


def test_links_published_before_stock_existed_plan_nothing_while_it_is_off():
    link = published_link()
    fields = {k: v for k, v in link.published_fields.items() if k != "stock_amount"}
    old = LinkSnapshot(**{**link.__dict__, "published_fields": fields})
    assert plan_for(Decimal("3"), old, RuleSettings(category_id=1)) is None


# --- publishing through the sandboxes ---------------------------------------------------------------
def test_stock_off_sends_no_stock_amount(shop):
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert all("stock_amount" not in item for item in shop.vk_items())


def test_first_publish_sends_the_shown_figures(shop):
    shop.set("tea", quantity="2.75", measure_name="кг")
    shop.set("coffee", quantity=2)
    shop.refresh()
    shop.configure(publish_stock=True, stock_floors={shop.store_id: 3})
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert shop.vk_item("tea")["stock_amount"] == 0  # 2 kg, under the floor of 3
    assert shop.vk_item("coffee")["stock_amount"] == 0
    assert shop.vk_item("juice")["stock_amount"] == 10
    shop.configure(stock_floors={})
    run = shop.sync()
    assert run.updated == 2
    assert shop.vk_item("tea")["stock_amount"] == 2
    assert shop.vk_item("coffee")["stock_amount"] == 2


def test_a_sale_reaches_vk_and_one_that_leaves_the_figure_writes_nothing(shop):
    shop.configure(publish_stock=True)
    shop.set("tea", quantity="5.5", measure_name="кг")
    shop.refresh()
    shop.sync()
    assert shop.vk_item("tea")["stock_amount"] == 5
    shop.set("tea", quantity="5.2")  # 300 g sold: still 5 whole kg
    before = shop.write_calls()
    run = shop.refresh_and_sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert shop.write_calls() == before
    assert run.total == 0 and run.vk_requests == 0
    shop.set("tea", quantity="4.9")
    run = shop.refresh_and_sync()
    assert run.updated == 1
    assert shop.vk_item("tea")["stock_amount"] == 4
    assert shop.vk.stats()["calls_by_method"]["market.edit"] == 1


def test_switching_stock_off_sends_minus_one_once(shop):
    shop.configure(publish_stock=True)
    shop.sync()
    shop.configure(publish_stock=False)
    run = shop.sync()
    assert run.updated == 5, run.error
    assert shop.vk_item("tea")["stock_amount"] == stock.NOT_TRACKED
    assert shop.sync().total == 0


# --- a sale rides the incremental change path ---------------------------------------------------
def test_a_sale_read_by_since_marks_the_product_dirty_and_the_run_sends_the_figure(shop):
    from catalog.changes import catalog_changes_read
    from catalog.models import DirtyProduct
    from sync.models import RunTrigger

    shop.configure(publish_stock=True)
    shop.sync()
    shop.set("coffee", quantity=9)
    result = catalog_changes_read(user=shop.user)
    assert (result.status, result.applied) == ("ok", 1)
    assert DirtyProduct.objects.filter(user=shop.user, product_evotor_id=shop.products["coffee"])
    run = shop.sync(trigger=RunTrigger.EVOTOR_CHANGE)
    assert run.updated == 1, run.error
    assert shop.vk_item("coffee")["stock_amount"] == 9


PUSH_SECRET = "stock-test-app-secret-0123456789abcdef"


@pytest.mark.django_db(transaction=True)
def test_a_sale_pushed_by_evotor_reaches_vk_and_a_same_figure_sale_writes_nothing(
    shop, settings, live_server
):
    from sync.models import RunTrigger, SyncRun

    settings.EVOTOR_WEBHOOK_SECRET = PUSH_SECRET
    settings.EVOTOR_PUSH_SECRET = ""
    shop.configure(publish_stock=True, stock_floors={shop.store_id: 3})
    shop.sync()
    shop.evotor.events.configure_push(f"{live_server.url}/evotor/events", PUSH_SECRET)
    try:
        shop.set("tea", quantity=8)  # a sale: 10 → 8
        run = SyncRun.objects.order_by("-pk").first()
        assert (run.trigger, run.status) == (RunTrigger.EVOTOR_CHANGE, "succeeded")
        assert shop.vk_item("tea")["stock_amount"] == 8
        shop.set("bun", quantity=2)  # 10 → 2: under the floor, VK shows 0
        assert shop.vk_item("bun")["stock_amount"] == 0
        writes = shop.write_calls()
        shop.set("bun", quantity=1)  # still 0 shown: nothing to write
        last = SyncRun.objects.order_by("-pk").first()
        assert last.total == 0 and last.vk_requests == 0
        assert shop.write_calls() == writes
    finally:
        shop.evotor.events.configure_push(None)
