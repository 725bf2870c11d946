"""Targeted publishes (issue 10 item 2): a change at the till is published on its own, with
only the changed products planned, debounced, and the marks cleared only for what was sent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.changes import (
    catalog_changes_announce,
    catalog_changes_read,
    catalog_product_remove,
    dirty_products_clear,
)
from catalog.models import CachedProduct, DirtyProduct
from sync.debounce import (
    DISPATCHER_LEASE_KEY,
    changes_dispatch,
    changes_note,
    changes_publish_when_due,
    changes_sweep,
    dispatcher_wake,
)
from sync.lifecycle import sync_run_create
from sync.models import PublishDue, RemovalPolicy, RunTrigger, SyncRun
from sync.publish.run import sync_run_execute
from sync.publish.targeted import ChangedProducts, sync_changes_publish


@pytest.fixture
def published(shop):
    """The shop after its first publish: automatic publishing may run."""
    run = shop.sync()
    assert run.status == "succeeded"
    return shop


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a call as if its transaction committed: the tasks it queues run inline."""

    def call(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return call


def vk_requests(shop) -> int:
    return sum(shop.vk.stats()["requests_by_method"].values())


def dirty_keys(shop) -> set[str]:
    return set(
        DirtyProduct.objects.filter(user=shop.user).values_list("product_evotor_id", flat=True)
    )


def last_run() -> SyncRun:
    return SyncRun.objects.order_by("-pk").first()


def test_a_price_change_is_published_alone_in_one_write_request(published, committed):
    shop = published
    shop.set("tea", price=171)
    writes, requests = shop.write_calls(), vk_requests(shop)
    result = committed(catalog_changes_read, user=shop.user)
    assert result.applied == 1
    run = last_run()
    assert (run.trigger, run.status) == (RunTrigger.EVOTOR_CHANGE, "succeeded")
    # Only the changed product was planned: the other four are not even counted unchanged.
    assert run.plan_summary["update"] == 1
    assert run.plan_summary["unchanged"] == 0
    assert shop.write_calls() - writes == 1
    assert vk_requests(shop) - requests == run.vk_requests == 1
    assert shop.vk_item("tea")["price"]["amount"] == "17100"
    assert not dirty_keys(shop)


def test_a_targeted_publish_before_the_first_publish_does_nothing(shop, committed):
    shop.set("tea", price=172)
    committed(catalog_changes_read, user=shop.user)
    assert not SyncRun.objects.exists()
    assert dirty_keys(shop) == {shop.products["tea"]}
    assert sync_changes_publish(user=shop.user) is None
    # The first publish sends everything, and the marks with it.
    assert shop.sync().status == "succeeded"
    assert shop.vk_item("tea")["price"]["amount"] == "17200"
    assert not dirty_keys(shop)


@pytest.mark.parametrize(
    ("policy", "gone", "availability"),
    [(RemovalPolicy.HIDE, "hidden", 2), (RemovalPolicy.DELETE, "deleted", 1)],
)
def test_a_product_removed_at_the_till_follows_the_removal_policy(
    published, committed, policy, gone, availability
):
    shop = published
    shop.configure(removal_policy=policy)
    shop.remove("pie")

    def removal_arrives():
        catalog_product_remove(
            user=shop.user,
            store_evotor_id=shop.store_id,
            product_id=shop.products["pie"],
            occurred_at=None,
        )
        catalog_changes_announce(user=shop.user, products=1)

    committed(removal_arrives)
    run = last_run()
    assert run.status == "succeeded"
    assert getattr(run, gone) == 1
    assert run.plan_summary["unchanged"] == 0
    assert shop.vk_item("pie")["availability"] == availability
    assert not dirty_keys(shop)


class ChangeWhileRunning(ChangedProducts):
    """The targeted scope, with more changes arriving from Evotor once the plan is made (as
    they would while the run publishes)."""

    def __init__(self, shop, **prices):
        super().__init__()
        self.shop, self.prices = shop, prices

    def plan(self, ctx):
        result = super().plan(ctx)
        for key, price in self.prices.items():
            self.shop.set(key, price=price)
        catalog_changes_read(user=self.shop.user)  # no commit: nothing else is sent
        return result


def test_a_change_arriving_during_the_run_stays_marked_for_the_next(published):
    shop = published
    shop.set("tea", price=181)
    catalog_changes_read(user=shop.user)
    assert dirty_keys(shop) == {shop.products["tea"]}
    run = sync_run_create(user=shop.user, trigger=RunTrigger.EVOTOR_CHANGE)
    run = sync_run_execute(run=run, scope=ChangeWhileRunning(shop, tea=182, coffee=355))
    assert run.status == "succeeded"
    assert shop.vk_item("tea")["price"]["amount"] == "18100"
    # tea changed again after the run read it, coffee changed for the first time: both wait.
    assert dirty_keys(shop) == {shop.products["tea"], shop.products["coffee"]}
    second = sync_changes_publish(user=shop.user)
    assert second.status == "succeeded" and second.updated == 2
    assert shop.vk_item("tea")["price"]["amount"] == "18200"
    assert shop.vk_item("coffee")["price"]["amount"] == "35500"
    assert not dirty_keys(shop)


def test_clearing_spares_a_mark_newer_than_the_one_read(published):
    shop = published
    shop.set("tea", price=183)
    catalog_changes_read(user=shop.user)
    mark = DirtyProduct.objects.get(user=shop.user)
    seen = {(mark.store_evotor_id, mark.product_evotor_id): mark.changed_at}
    DirtyProduct.objects.filter(pk=mark.pk).update(
        changed_at=mark.changed_at + timedelta(microseconds=1)
    )
    assert dirty_products_clear(user=shop.user, seen=seen) == 0
    assert dirty_keys(shop) == {shop.products["tea"]}


def test_a_run_that_stops_keeps_the_marks(published):
    shop = published
    shop.set("juice", price=123)
    catalog_changes_read(user=shop.user)
    shop.vk.fail(5, message="access_token has expired.", count=1)
    run = sync_changes_publish(user=shop.user)
    assert run.status == "stopped"
    assert dirty_keys(shop) == {shop.products["juice"]}


def test_the_sweep_sends_again_a_publish_whose_task_was_lost(published, committed):
    shop = published
    shop.set("juice", price=124)
    catalog_changes_read(user=shop.user)  # no commit: the dispatcher never left
    # A publish task was sent, and lost with its worker.
    PublishDue.objects.filter(user=shop.user).update(task_sent_at=timezone.now())
    later = timezone.now() + timedelta(minutes=6)
    # Nothing sent again while the task may still be on its way.
    assert committed(changes_sweep, now=timezone.now() + timedelta(minutes=2)) == 0
    assert committed(changes_sweep, now=later) == 1
    assert shop.vk_item("juice")["price"]["amount"] == "12400"
    assert not dirty_keys(shop)
    assert committed(changes_sweep, now=later) == 0


def test_the_sweep_sends_a_publish_the_dispatcher_never_sent(published, committed):
    shop = published
    shop.set("juice", price=125)
    catalog_changes_read(user=shop.user)  # no commit: the dispatcher never left
    # Marks younger than twice the cap: a dispatcher may still send them.
    assert committed(changes_sweep, now=timezone.now() + timedelta(seconds=30)) == 0
    assert committed(changes_sweep, now=timezone.now() + timedelta(minutes=2)) == 1
    assert shop.vk_item("juice")["price"]["amount"] == "12500"
    assert not dirty_keys(shop)


def test_one_dispatcher_sleeps_for_the_quiet_period_and_sends_the_publish_when_due(
    published, settings, committed
):
    shop = published
    settings.SYNC_CHANGES_QUIET_SECONDS = 3
    start = timezone.now() - timedelta(seconds=10)
    shop.set("tea", price=194)
    catalog_changes_read(user=shop.user)  # no commit: nothing sent yet
    changes_note(user=shop.user, now=start)
    changes_note(user=shop.user, now=start + timedelta(seconds=1))
    token = "the-dispatcher"
    cache.set(DISPATCHER_LEASE_KEY, token)  # a dispatcher on its way holds the lease
    assert dispatcher_wake() is False  # so no second one is sent
    runs = SyncRun.objects.count()
    clock = FakeClock(start + timedelta(seconds=1))
    # The publish task it sends runs inline here, once its changes are due.
    sent = committed(changes_dispatch, token=token, clock=clock, sleep=clock.sleep)
    assert sent == 1
    assert clock.slept == [3.0]  # the dispatcher waited, not the publish
    assert SyncRun.objects.count() == runs + 1
    assert shop.vk_item("tea")["price"]["amount"] == "19400"
    assert cache.get(DISPATCHER_LEASE_KEY) is None  # nothing waits: the lease is let go


def test_a_dispatcher_whose_lease_was_taken_over_stops(published, committed):
    shop = published
    shop.set("tea", price=195)
    catalog_changes_read(user=shop.user)
    cache.set(DISPATCHER_LEASE_KEY, "another")
    assert committed(changes_dispatch, token="mine") == 0
    assert dirty_keys(shop) == {shop.products["tea"]}
    assert cache.get(DISPATCHER_LEASE_KEY) == "another"  # not let go by a stranger
    cache.delete(DISPATCHER_LEASE_KEY)


def test_a_change_at_the_till_is_published_through_the_dispatcher(published, committed):
    shop = published
    shop.set("tea", price=196)
    committed(catalog_changes_read, user=shop.user)
    assert shop.vk_item("tea")["price"]["amount"] == "19600"
    assert not dirty_keys(shop)
    assert cache.get(DISPATCHER_LEASE_KEY) is None


def test_a_group_change_plans_the_whole_catalog(published, committed):
    shop = published
    shop.evotor.set_group(shop.store_id, shop.groups["Выпечка"], name="Пироги")
    result = committed(catalog_changes_read, user=shop.user)
    assert result.groups_applied == 1
    run = last_run()
    assert run.status == "succeeded"
    assert run.plan_summary["albums_to_rename"] == 1
    assert run.plan_summary["unchanged"] >= 3


class FakeClock:
    """The task's clock and sleep: sleeping moves the clock, and `during_sleep` may bring
    changes meanwhile."""

    def __init__(self, start, during_sleep=None):
        self.now, self.slept, self.during_sleep = start, [], during_sleep

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)
        if self.during_sleep:
            self.during_sleep(self.now)


def test_changes_wait_for_a_quiet_period(published, settings):
    shop = published
    settings.SYNC_CHANGES_QUIET_SECONDS = 3
    start = timezone.now()
    shop.set("tea", price=191)
    catalog_changes_read(user=shop.user)
    changes_note(user=shop.user, now=start)
    changes_note(user=shop.user, now=start + timedelta(seconds=1))
    clock = FakeClock(start + timedelta(seconds=1))
    assert changes_publish_when_due(user=shop.user, clock=clock, sleep=clock.sleep) == "published"
    assert clock.slept == [3.0]
    assert shop.vk_item("tea")["price"]["amount"] == "19100"


def test_a_stream_of_changes_is_published_at_the_cap(published, settings):
    shop = published
    settings.SYNC_CHANGES_QUIET_SECONDS = 3
    settings.SYNC_CHANGES_CAP_SECONDS = 30
    shop.set("tea", price=192)
    catalog_changes_read(user=shop.user)
    start = PublishDue.objects.get(user=shop.user).first_change_at

    def another_change(now):
        changes_note(user=shop.user, now=now)

    clock = FakeClock(start, during_sleep=another_change)
    assert changes_publish_when_due(user=shop.user, clock=clock, sleep=clock.sleep) == "published"
    assert clock.now == start + timedelta(seconds=30)
    # The changes noted during the last wait are published by this run: nothing left due.
    assert PublishDue.objects.get(user=shop.user).first_change_at is None


def test_a_second_task_for_the_same_changes_finds_nothing_due(published):
    shop = published
    shop.set("tea", price=193)
    catalog_changes_read(user=shop.user)
    changes_note(user=shop.user)
    assert changes_publish_when_due(user=shop.user) == "published"
    runs = SyncRun.objects.count()
    assert changes_publish_when_due(user=shop.user) == "nothing"
    assert SyncRun.objects.count() == runs


def _grow(shop, count: int) -> None:
    for index in range(count):
        shop.add(f"extra{len(shop.products)}-{index}", f"Товар номер {index}", image=False)


@pytest.mark.usefixtures("default_photo_path")
def test_a_targeted_publish_reads_the_same_number_of_statements_whatever_the_catalog(shop):
    """The same one-product change in a catalog of 5, then 45 products."""

    def statements_for_one_change(price) -> int:
        shop.refresh()
        assert shop.sync().status == "succeeded"
        shop.set("tea", price=price)
        catalog_changes_read(user=shop.user)
        with CaptureQueriesContext(connection) as queries:
            run = sync_changes_publish(user=shop.user)
        assert run.status == "succeeded" and run.updated == 1
        return len(queries)

    small = statements_for_one_change(201)
    _grow(shop, 40)
    large = statements_for_one_change(202)
    assert CachedProduct.objects.filter(user=shop.user).count() == 45
    assert large == small


def test_a_new_product_never_takes_the_sku_of_a_published_one(published, committed):
    from sync.models import ItemLink

    shop = published
    taken = ItemLink.objects.get(user=shop.user, product_id=shop.products["tea"]).sku
    shop.add("beans", "Кофе в зёрнах", article_number=taken.lower())
    committed(catalog_changes_read, user=shop.user)
    run = last_run()
    assert (run.status, run.created, run.plan_summary["unchanged"]) == ("succeeded", 1, 0)
    new = ItemLink.objects.get(user=shop.user, product_id=shop.products["beans"])
    assert new.sku.lower() != taken.lower()
    assert ItemLink.objects.get(user=shop.user, product_id=shop.products["tea"]).sku == taken


def test_a_change_to_a_variant_plans_its_whole_group(shop, committed):
    """A modification's main mark and grouping are decided by its group (sync/plan/variants.py):
    a change to one plans the whole catalog, so the main variant still moves when it runs out."""
    from .test_variants import SIZES, add_tees

    add_tees(shop)
    assert shop.sync().status == "succeeded"
    main = next(s for s in SIZES if shop.vk_item(f"tee-{s}")["is_main_variant"])
    shop.set(f"tee-{main}", quantity=0)
    committed(catalog_changes_read, user=shop.user)
    run = last_run()
    assert (run.trigger, run.status) == (RunTrigger.EVOTOR_CHANGE, "succeeded")
    assert run.plan_summary["unchanged"] > 0  # the whole catalog was planned
    items = {size: shop.vk_item(f"tee-{size}") for size in SIZES}
    assert not items[main]["is_main_variant"]
    assert sum(1 for item in items.values() if item["is_main_variant"]) == 1
    assert len({item["variants_grouping_id"] for item in items.values()}) == 1
    assert not dirty_keys(shop)


def test_the_vk_catalog_cache_shows_what_a_targeted_run_wrote_without_asking_vk(
    published, committed
):
    from vk_catalog.models import VkCachedProduct
    from vk_catalog.services import vk_catalog_refresh_for_user

    shop = published
    vk_catalog_refresh_for_user(user=shop.user)
    vk_id = shop.vk_item("tea")["id"]
    shop.set("tea", price=171)
    reads = shop.vk.stats()["requests_by_method"].get("market.get", 0)
    committed(catalog_changes_read, user=shop.user)
    assert shop.vk_item("tea")["price"]["amount"] == "17100"
    cached = VkCachedProduct.objects.get(user=shop.user, vk_id=vk_id)
    assert cached.price == 171
    assert shop.vk.stats()["requests_by_method"].get("market.get", 0) == reads  # no re-read
