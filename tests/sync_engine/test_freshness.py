"""Changes at the till reach VK without waiting for the full refresh (issue 10, first layer):
push end to end over real HTTP, the events-API poller and its cursor, `since` reads, and the
full refresh catching what every other path missed."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from catalog.changes import catalog_changes_read
from catalog.models import CachedProduct, CatalogFreshness, DirtyProduct
from catalog.tasks import read_changes_all
from connections.evotor_client import EvotorClient
from sync.models import RunTrigger, SyncRun
from webhooks import tasks as webhook_tasks
from webhooks.changes import POLLER_RUN_KEY, evotor_events_poll, evotor_events_poll_rounds
from webhooks.models import ChangeOutcome, ChangeSource, EventsCursor, EvotorChange

SECRET = "freshness-test-app-secret-0123456789abcdef"
APP_ID = "evosync-sandbox-app"
PUBLISHER_TOKEN = "sandbox-publisher-token"


@pytest.fixture
def published(shop, settings):
    """The shop after its first publish (so automatic publishing may run), with the push
    secret configured on both sides."""
    settings.EVOTOR_WEBHOOK_SECRET = SECRET
    settings.EVOTOR_PUSH_SECRET = ""
    shop.sync()
    yield shop
    shop.evotor.events.configure_push(None)


@pytest.fixture
def pull(settings, published):
    """Pull intake on, pointed at the sandbox's events API; push off."""
    settings.EVOTOR_INTAKE = ["pull"]
    settings.EVOTOR_APP_ID = APP_ID
    settings.EVOTOR_PUBLISHER_TOKEN = PUBLISHER_TOKEN
    return published


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a call as if its transaction committed: the tasks it queues run inline."""

    def call(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return call


def cached_price(shop, key):
    return CachedProduct.objects.get(user=shop.user, evotor_id=shop.products[key]).price


@pytest.mark.django_db(transaction=True)
def test_a_price_changed_at_the_till_reaches_vk_through_a_signed_push(published, live_server):
    shop = published
    shop.evotor.events.configure_push(f"{live_server.url}/evotor/events", SECRET)
    runs_before = SyncRun.objects.count()
    # The sandbox posts the signed event to the site over HTTP; tasks run inline (sync mode).
    shop.set("tea", price=163)
    assert shop.evotor.events.pushed == 1
    assert shop.evotor.events.push_failures == 0
    change = EvotorChange.objects.get()
    assert (change.source, change.outcome, change.user) == (
        ChangeSource.PUSH,
        ChangeOutcome.APPLIED,
        shop.user,
    )
    assert cached_price(shop, "tea") == 163
    assert CatalogFreshness.objects.get(user=shop.user).changes == 1
    run = SyncRun.objects.order_by("-pk").first()
    assert SyncRun.objects.count() == runs_before + 1
    assert (run.trigger, run.status) == (RunTrigger.EVOTOR_CHANGE, "succeeded")
    assert run.plan_summary["update"] == 1
    assert shop.vk_item("tea")["price"]["amount"] == "16300"
    # Published: the product is no longer marked changed.
    assert not DirtyProduct.objects.filter(user=shop.user)


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_pushes_for_one_merchant_never_queues_two_runs(published, live_server):
    """Debounce: while a run is pending, further changes join it instead of queueing more."""
    from sync.lifecycle import sync_run_create

    shop = published
    pending = sync_run_create(user=shop.user, trigger=RunTrigger.EVOTOR_CHANGE)
    shop.evotor.events.configure_push(f"{live_server.url}/evotor/events", SECRET)
    shop.set("tea", price=164)
    shop.set("coffee", price=351)
    assert shop.evotor.events.pushed == 2
    assert list(SyncRun.objects.filter(status="queued")) == [pending]
    assert DirtyProduct.objects.filter(user=shop.user).count() == 2


def test_the_poller_reads_events_and_a_restart_neither_loses_nor_replays(pull, committed):
    shop = pull
    EventsCursor.objects.create(pk=1, since_ms=0)
    shop.set("tea", price=170)
    first = committed(evotor_events_poll)
    assert first["status"] == "ok" and first["recorded"] >= 1
    assert cached_price(shop, "tea") == 170
    recorded = EvotorChange.objects.count()
    cursor = EventsCursor.objects.get(pk=1).since_ms
    assert cursor == shop.evotor.events.events[-1]["timestamp"]

    # A "restart": a new client and poller state from the database only. Nothing new yet:
    # the event at the cursor is read again and recognised, not applied twice.
    client = EvotorClient(PUBLISHER_TOKEN, auth_header="bearer")
    second = committed(evotor_events_poll, client=client)
    assert second["recorded"] == 0
    assert EvotorChange.objects.count() == recorded

    shop.set("coffee", price=360)
    third = committed(evotor_events_poll)
    assert third["recorded"] == 1
    assert cached_price(shop, "coffee") == 360
    assert EvotorChange.objects.filter(outcome=ChangeOutcome.APPLIED).count() == 2
    assert shop.vk_item("coffee")["price"]["amount"] == "36000"


def test_a_poller_run_reads_again_every_few_seconds_until_a_newer_run_takes_over(
    pull, settings, committed
):
    shop = pull
    settings.EVOTOR_EVENTS_POLL_SECONDS = 10
    EventsCursor.objects.create(pk=1, since_ms=0)
    now, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds
        if len(slept) == 1:
            shop.set("coffee", price=361)  # at the till, between two reads
        if len(slept) == 3:
            cache.set(POLLER_RUN_KEY, "a newer run")

    result = committed(evotor_events_poll_rounds, clock=lambda: now[0], sleep=sleep)
    assert (result["status"], result["rounds"], slept) == ("ok", 3, [10, 10, 10])
    assert result["recorded"] >= 1
    assert cached_price(shop, "coffee") == 361
    assert shop.vk_item("coffee")["price"]["amount"] == "36100"


def test_a_poller_run_ends_after_two_intervals_or_at_once_when_reading_fails(pull, settings):
    settings.EVOTOR_EVENTS_POLL_SECONDS = 10
    settings.EVOTOR_EVENTS_INTERVAL_SECONDS = 60
    now, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    result = evotor_events_poll_rounds(clock=lambda: now[0], sleep=sleep)
    assert result["status"] == "ok"
    assert result["rounds"] == 13 and sum(slept) == 120  # reads at 0, 10, …, 120 s
    settings.EVOTOR_PUBLISHER_TOKEN = "wrong"
    slept.clear()
    failed = evotor_events_poll_rounds(clock=lambda: now[0], sleep=sleep)
    assert (failed["status"], failed["rounds"], slept) == ("failed", 1, [])


def test_the_poller_starts_near_now_the_first_time(pull):
    shop = pull
    result = webhook_tasks.poll_evotor_events()
    assert result["status"] == "ok"
    # The fixture's catalog was created just now, inside the first look-back window.
    assert EventsCursor.objects.get(pk=1).since_ms >= shop.evotor.events.events[0]["timestamp"]


def test_the_poller_is_off_unless_pull_is_configured(published, settings):
    settings.EVOTOR_INTAKE = ["push"]
    assert evotor_events_poll() == {"status": "off"}
    assert not EventsCursor.objects.exists()


def test_the_poller_refuses_a_wrong_publisher_token_without_moving_the_cursor(pull, settings):
    EventsCursor.objects.create(pk=1, since_ms=5)
    settings.EVOTOR_PUBLISHER_TOKEN = "wrong"
    assert evotor_events_poll()["status"] == "failed"
    assert EventsCursor.objects.get(pk=1).since_ms == 5


def test_since_reads_pick_up_a_change_and_publish_it(published, settings, committed):
    shop = published
    settings.EVOTOR_INTAKE = ["poll"]
    shop.set("juice", price=111)
    result = committed(catalog_changes_read, user=shop.user)
    assert result.status == "ok" and result.applied == 1
    assert cached_price(shop, "juice") == 111
    # Published by a targeted run at once (tasks run inline), and the mark cleared.
    assert shop.vk_item("juice")["price"]["amount"] == "11100"
    assert not DirtyProduct.objects.filter(user=shop.user)
    # Read again: nothing new, nothing applied twice.
    again = catalog_changes_read(user=shop.user)
    assert again.applied == 0
    shop.set("juice", price=112)
    assert committed(read_changes_all) == 1
    assert cached_price(shop, "juice") == 112
    assert shop.vk_item("juice")["price"]["amount"] == "11200"


def test_since_reads_are_off_unless_poll_is_configured(published, settings):
    settings.EVOTOR_INTAKE = ["push"]
    assert read_changes_all() == 0


def test_dropped_events_are_caught_by_the_full_refresh(published, settings):
    """Reconciliation: no push, no pull, no poll delivered the change; the full refresh does."""
    shop = published
    settings.EVOTOR_INTAKE = ["push"]
    shop.evotor.events.configure_push(None)
    shop.set("bun", price=47)
    shop.remove("pie")
    assert not EvotorChange.objects.exists()
    shop.refresh_and_sync(trigger=RunTrigger.SCHEDULE)
    assert cached_price(shop, "bun") == 47
    assert shop.vk_item("bun")["price"]["amount"] == "4700"
    assert shop.vk_item("pie")["availability"] != 0
