"""The services the pages call: preview, start, retry failed, confirm and cancel held."""

import pytest

from sync.lifecycle import (
    sync_run_cancel_held,
    sync_run_confirm_held,
    sync_run_retry_failed,
    sync_run_start,
)
from sync.models import RunStatus, RunTrigger, SyncRun
from sync.plan.inputs import sync_settings_get
from sync.plan.preview import sync_run_preview


def test_settings_are_created_on_first_use_with_the_defaults(owner):
    settings_obj = sync_settings_get(owner)
    assert settings_obj.auto_sync and settings_obj.removal_guard_percent == 20
    assert settings_obj.removal_policy == "hide" and settings_obj.first_published_at is None
    assert sync_settings_get(owner).pk == settings_obj.pk


def test_preview_changes_nothing_and_counts_per_action(shop):
    plan = sync_run_preview(user=shop.user)
    assert plan.counts["create"] == 5 and plan.counts["albums_to_create"] == 2
    summary = plan.summary()
    assert summary["create"] == 5 and summary["guard_held"] is False
    assert shop.write_calls() == 0
    assert not SyncRun.objects.exists()
    item = next(i for i in plan.items if i.product_name == "Кофе молотый")
    assert item.changes["price"] == [None, "349.90"]


def test_preview_flags_a_missing_category(shop):
    shop.configure(vk_category_id=None)
    plan = sync_run_preview(user=shop.user)
    assert plan.counts["skipped"] == 5
    assert all("no_category" in item.flags for item in plan.items)


def test_start_queues_one_run_and_the_worker_publishes_it(shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = sync_run_start(user=shop.user)
        again = sync_run_start(user=shop.user)
    assert again.pk == run.pk
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.created == 5


def test_retry_failed_starts_a_retry_run(shop, django_capture_on_commit_callbacks):
    shop.vk.fail(100, method="market.add", count=2, message="bad item")
    first = shop.sync()
    assert first.failed == 2
    with django_capture_on_commit_callbacks(execute=True):
        retry = sync_run_retry_failed(run=first)
    retry.refresh_from_db()
    assert retry.trigger == RunTrigger.RETRY
    assert retry.status == RunStatus.SUCCEEDED and retry.created == 2


def test_a_run_whose_worker_died_does_not_block_sync_now(shop, django_capture_on_commit_callbacks):
    dead = SyncRun.objects.create(user=shop.user, status=RunStatus.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        run = sync_run_start(user=shop.user)
    assert run.pk != dead.pk
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED and dead.error


def test_a_queued_run_whose_task_was_lost_is_given_up(shop, settings):
    from datetime import timedelta

    from django.utils import timezone

    lost = SyncRun.objects.create(user=shop.user, status=RunStatus.QUEUED)
    SyncRun.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(hours=2))
    from sync.lifecycle import sync_run_live_or_close_dead

    assert sync_run_live_or_close_dead(shop.user) is None
    lost.refresh_from_db()
    assert lost.status == RunStatus.FAILED


def remove_the_bakery(shop):
    """Two of five published items leave the till: more than the 20 % the guard allows."""
    assert shop.sync().status == RunStatus.SUCCEEDED
    for key in ("bun", "pie"):
        shop.remove(key)
    shop.refresh()


def test_removals_confirmed_on_the_preview_go_through(shop, django_capture_on_commit_callbacks):
    remove_the_bakery(shop)
    plan = sync_run_preview(user=shop.user)
    assert plan.guard_held and plan.removals == 2
    with django_capture_on_commit_callbacks(execute=True):
        run = sync_run_start(user=shop.user, confirm_removals=plan.removals)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.hidden, run.confirmed_removals) == (2, 2)
    assert sum(item["availability"] == 0 for item in shop.vk_items()) == 3


def test_more_removals_than_confirmed_hold_the_run_until_confirmed_again(
    shop, django_capture_on_commit_callbacks
):
    remove_the_bakery(shop)
    with django_capture_on_commit_callbacks(execute=True):
        run = sync_run_start(user=shop.user, confirm_removals=1)
    run.refresh_from_db()
    assert run.status == RunStatus.HELD and run.hidden == 0
    assert sum(item["availability"] == 0 for item in shop.vk_items()) == 5
    with django_capture_on_commit_callbacks(execute=True):
        sync_run_confirm_held(run=run)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.hidden == 2


def test_confirm_removals_is_the_number_confirmed_not_a_flag(shop):
    with pytest.raises(TypeError):
        sync_run_start(user=shop.user, confirm_removals=True)
    assert not SyncRun.objects.exists()


def test_cancelling_a_held_run_removes_nothing_and_resolves_the_alert(shop):
    remove_the_bakery(shop)
    held = shop.sync()
    assert held.status == RunStatus.HELD
    assert shop.user.sync_alerts.filter(cause="removal_guard", resolved_at=None).exists()
    cancelled = sync_run_cancel_held(run=held)
    assert cancelled.status == RunStatus.STOPPED and cancelled.stop_cause == "removal_guard"
    assert cancelled.error == "Отменено вами: ничего не скрыто и не удалено."
    assert not shop.user.sync_alerts.filter(cause="removal_guard", resolved_at=None).exists()
    assert sum(item["availability"] == 0 for item in shop.vk_items()) == 5
    # Cancelling twice, or confirming afterwards, changes nothing.
    assert sync_run_cancel_held(run=held).status == RunStatus.STOPPED
    assert sync_run_confirm_held(run=held).status == RunStatus.STOPPED
