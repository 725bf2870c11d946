"""The services the pages call: preview, start, retry failed, confirm held."""

from sync.models import RunStatus, RunTrigger, SyncRun
from sync.services import (
    sync_run_preview,
    sync_run_retry_failed,
    sync_run_start,
    sync_settings_get,
)


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
    from sync.runs import active_run

    assert active_run(shop.user) is None
    lost.refresh_from_db()
    assert lost.status == RunStatus.FAILED
