"""Automation: the schedule, the fan-out, one merchant's failure, no overlapping runs."""

import os

from connections.models import VkConnection
from evosync.schedules import collect_schedules
from sync import tasks
from sync.lifecycle import sync_run_create, users_to_sync
from sync.locks import holder_is_dead, sync_lock_acquire, sync_lock_held
from sync.models import ItemLink, RunStatus, RunTrigger, SyncLock, SyncRun
from sync.publish.run import sync_run_execute

from ..conftest import make_user


def test_the_sync_to_vk_schedule_names_a_real_task(settings):
    settings.SYNC_INTERVAL_SECONDS = 600
    (spec,) = [s for s in collect_schedules() if s.name == "sync_to_vk"]
    assert spec.func == "sync.tasks.sync_all"
    assert spec.resolved_minutes() == 10
    assert callable(tasks.sync_all)


def test_automation_waits_for_the_first_publish_through_the_preview(shop):
    result = tasks.sync_user(shop.user.pk, RunTrigger.SCHEDULE)
    assert result["status"] == "skipped"
    assert users_to_sync() == []
    shop.sync()
    assert users_to_sync() == [shop.user.pk]
    shop.configure(auto_sync=False)
    assert users_to_sync() == []


def test_one_merchants_failure_never_stops_the_others(shop, django_capture_on_commit_callbacks):
    shop.sync()
    broken = make_user("broken@example.ru")
    VkConnection.objects.create(user=broken, access_token="revoked-token", group_id=200001)
    from django.utils import timezone

    from sync.plan.inputs import sync_settings_get

    settings_obj = sync_settings_get(broken)
    settings_obj.first_published_at = timezone.now()
    settings_obj.vk_category_id = 40099  # a first publish needs one
    settings_obj.save()
    # Something for the broken merchant's run to do in VK: hide an item no longer selected.
    ItemLink.objects.create(
        user=broken, store_id="S", product_id="P", vk_item_id=999, sku="X", state="published"
    )
    shop.set("tea", price=171)
    shop.refresh()
    # Each run's task is sent when its start commits, and runs inline in the test settings.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sync_all() == 2
    broken_run = SyncRun.objects.get(user=broken)
    assert broken_run.status == RunStatus.STOPPED and broken_run.stop_cause == "token_revoked"
    good_run = SyncRun.objects.filter(user=shop.user).order_by("-pk").first()
    assert good_run.status == RunStatus.SUCCEEDED and good_run.updated == 1
    assert shop.vk_item("tea")["price"]["amount"] == "17100"


def test_two_syncs_of_one_merchant_never_overlap(shop):
    lock = sync_lock_acquire(shop.user.pk)
    assert lock is not None and sync_lock_held(shop.user.pk)
    assert sync_lock_acquire(shop.user.pk) is None
    run = sync_run_execute(run=sync_run_create(user=shop.user))
    assert run.status == RunStatus.FAILED and run.error
    assert shop.vk_items() == []
    lock.release()
    run = sync_run_execute(run=sync_run_create(user=shop.user))
    assert run.status == RunStatus.SUCCEEDED


def test_a_lock_left_by_a_dead_process_is_taken_over_at_once(owner):
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    from sync.locks import _host

    SyncLock.objects.create(user=owner, holder=f"{_host()}:{child.pid}:abc")
    from datetime import timedelta

    from django.utils import timezone

    SyncLock.objects.filter(user=owner).update(expires_at=timezone.now() + timedelta(minutes=5))
    assert holder_is_dead(f"{_host()}:{child.pid}:abc")
    assert not holder_is_dead(f"{_host()}:{os.getpid()}:abc")
    assert not holder_is_dead("other-host:1:abc")
    assert sync_lock_acquire(owner.pk) is not None


def test_a_queued_run_is_not_run_twice(shop):
    run = sync_run_create(user=shop.user)
    assert tasks.sync_user(shop.user.pk, RunTrigger.MANUAL, run.pk)["status"] == "succeeded"
    again = tasks.sync_user(shop.user.pk, RunTrigger.MANUAL, run.pk)
    assert again == {"status": "succeeded", "run_id": run.pk}
    assert SyncRun.objects.count() == 1
    assert len(shop.vk_items()) == 5


def test_a_run_left_running_by_a_dead_worker_is_marked_interrupted(shop):
    dead = SyncRun.objects.create(user=shop.user, status=RunStatus.RUNNING)
    run = shop.sync()
    dead.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert dead.status == RunStatus.FAILED and dead.error and dead.finished_at
