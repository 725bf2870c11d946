"""VK failing in the middle of a run: the run ends in the right state, the merchant sees why,
nothing is published twice and nothing published is forgotten."""

import re

import pytest

from connections.models import ConnectionState, VkConnection
from sync.lifecycle import sync_run_create
from sync.models import ItemLink, LinkState, RunStatus, StopCause
from sync.publish.run import sync_run_execute

from .conftest import VK_GROUP


def sync_failing_after_first_batch(shop, inject):
    """Run a sync; `inject(vk)` is called once the first items were applied."""
    state = {"done": False}

    def progress(run):
        if not state["done"] and run.done > 0:
            state["done"] = True
            inject(shop.vk)

    run = sync_run_create(user=shop.user)
    return sync_run_execute(run=run, progress=progress)


@pytest.fixture
def bigger_shop(shop, default_photo_path):
    """Enough products for several requests: 20 new items fit in one (four bulk photo groups of
    five), so the 25 here take two (the failures are injected once the first was applied)."""
    for n in range(20):
        shop.add(f"x{n}", f"Товар для проверки {n}", image=False, price=10 + n)
    shop.refresh()
    return shop


def assert_russian(text):
    assert re.search("[а-яё]", text, re.IGNORECASE), text


def assert_no_duplicates_and_links_intact(shop):
    items = shop.vk_items()
    skus = [item.get("sku") for item in items]
    assert len(skus) == len(set(skus)), "no item published twice"
    links = ItemLink.objects.filter(user=shop.user, vk_item_id__isnull=False)
    assert {link.vk_item_id for link in links} <= {item["id"] for item in items}
    assert not ItemLink.objects.filter(user=shop.user, state=LinkState.CREATING).exists()


def finish_cleanly(shop):
    shop.vk.clear_failures()
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert len(shop.vk_items()) == len(shop.products)
    assert_no_duplicates_and_links_intact(shop)
    return run


def test_token_revoked_stops_the_run_marks_the_connection_and_alerts(bigger_shop):
    shop = bigger_shop
    run = sync_failing_after_first_batch(
        shop, lambda vk: vk.fail(5, message="access_token has expired.")
    )
    assert run.status == RunStatus.STOPPED and run.stop_cause == StopCause.TOKEN_REVOKED
    assert 0 < run.created < len(shop.products)
    assert "ключ доступа" in run.error  # in Russian, what to do about it
    assert VkConnection.objects.get(user=shop.user).state == ConnectionState.BROKEN
    assert shop.user.sync_alerts.filter(cause="token_revoked", resolved_at=None).exists()
    assert_no_duplicates_and_links_intact(shop)
    VkConnection.objects.filter(user=shop.user).update(state=ConnectionState.OK)
    finish_cleanly(shop)
    assert not shop.user.sync_alerts.filter(cause="token_revoked", resolved_at=None).exists()


def test_captcha_stops_the_run_and_alerts(bigger_shop):
    shop = bigger_shop
    run = sync_failing_after_first_batch(shop, lambda vk: vk.fail(14))
    assert run.status == RunStatus.STOPPED and run.stop_cause == StopCause.CAPTCHA
    assert_russian(run.error)
    assert shop.user.sync_alerts.filter(cause="captcha", resolved_at=None).exists()
    assert_no_duplicates_and_links_intact(shop)
    finish_cleanly(shop)


def test_captcha_on_one_call_inside_execute_stops_the_run_too(bigger_shop):
    shop = bigger_shop
    run = sync_failing_after_first_batch(shop, lambda vk: vk.fail(14, method="market.add"))
    assert run.status == RunStatus.STOPPED and run.stop_cause == StopCause.CAPTCHA
    assert_no_duplicates_and_links_intact(shop)
    finish_cleanly(shop)


def test_market_turned_off_stops_the_run_and_alerts(bigger_shop):
    shop = bigger_shop
    run = sync_failing_after_first_batch(shop, lambda vk: vk.set_market_enabled(VK_GROUP, False))
    assert run.status == RunStatus.STOPPED and run.stop_cause == StopCause.MARKET_OFF
    assert shop.user.sync_alerts.filter(cause="market_off", resolved_at=None).exists()
    shop.vk.set_market_enabled(VK_GROUP, True)
    finish_cleanly(shop)


def test_a_few_too_many_requests_errors_are_waited_out(bigger_shop, retry_waits):
    shop = bigger_shop
    run = sync_failing_after_first_batch(shop, lambda vk: vk.fail(6, count=2))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert retry_waits == [1.0, 2.0]  # HTTP_BACKOFF_SECONDS, then twice that
    assert run.vk_rate_refusals == 2  # the run's figures keep what VK refused
    assert len(shop.vk_items()) == len(shop.products)
    assert_no_duplicates_and_links_intact(shop)


@pytest.mark.parametrize("code", [6, 9])
def test_limits_that_do_not_clear_fail_the_run_with_the_reason(bigger_shop, code):
    shop = bigger_shop
    run = sync_failing_after_first_batch(shop, lambda vk: vk.fail(code))
    assert run.status == RunStatus.FAILED and run.stop_cause == ""
    assert_russian(run.error)
    assert 0 < run.created < len(shop.products)
    assert_no_duplicates_and_links_intact(shop)
    finish_cleanly(shop)


def test_vk_internal_errors_that_persist_fail_the_run(bigger_shop):
    shop = bigger_shop
    run = sync_failing_after_first_batch(shop, lambda vk: vk.fail(10))
    assert run.status == RunStatus.FAILED
    assert_russian(run.error)
    assert_no_duplicates_and_links_intact(shop)
    finish_cleanly(shop)


def test_a_lost_answer_is_resolved_by_sku_in_the_same_run(bigger_shop, lost_answers):
    shop = bigger_shop
    run = sync_failing_after_first_batch(
        shop, lambda vk: lost_answers.drop("/method/execute", count=1)
    )
    assert lost_answers.dropped == ["/vk/method/execute"]
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert len(shop.vk_items()) == len(shop.products)
    assert_no_duplicates_and_links_intact(shop)


def test_answers_lost_until_the_run_gives_up_are_adopted_by_sku_next_run(bigger_shop, lost_answers):
    shop = bigger_shop
    run = sync_failing_after_first_batch(shop, lambda vk: lost_answers.drop("/method/execute"))
    assert run.status == RunStatus.FAILED, run.error
    assert_russian(run.error)  # "VK is not answering properly right now…"
    # VK made the items whose answers were lost; the links wait, `creating`, with their sku.
    made = len(shop.vk_items())
    assert made > run.created
    assert ItemLink.objects.filter(user=shop.user, state=LinkState.CREATING).exists()
    lost_answers.clear()
    run = finish_cleanly(shop)
    assert len(shop.vk_items()) == len(shop.products)


def test_a_vk_error_inside_execute_is_logged_for_staff_and_kept_on_the_run(shop, caplog):
    shop.vk.fail(
        12, method="execute", message="Unknown language construction near token=vk1.a.SECRET"
    )
    with caplog.at_level("ERROR", logger="sync.publish.run"):
        run = shop.sync()
    assert run.status == RunStatus.FAILED
    assert_russian(run.error)  # the merchant's words
    run.refresh_from_db()
    assert run.vk_error.startswith("VK error 12 in execute: ")
    assert "Unknown language construction" in run.vk_error
    assert "SECRET" not in run.vk_error
    (record,) = [r for r in caplog.records if r.name == "sync.publish.run"]
    assert record.levelname == "ERROR"
    assert (record.code, record.method) == (12, "execute")
    assert "Unknown language construction" in record.vk_message
    assert "SECRET" not in record.vk_message
