"""Whether a publishing run may start: one place decides (sync.lifecycle.sync_run_start_check)
for "Sync now", the preview's "Publish", "Retry failed", the schedule and a change in Evotor."""

from __future__ import annotations

import pytest
from django.utils import timezone

from connections.models import ConnectionState, VkConnection
from sync.lifecycle import StartRefused, sync_run_request, sync_run_start_check
from sync.locks import sync_lock_acquire
from sync.models import RunStatus, RunTrigger, SyncRun
from sync.plan.inputs import sync_settings_get

pytestmark = pytest.mark.django_db


@pytest.fixture
def vk(owner):
    settings_obj = sync_settings_get(owner)
    settings_obj.vk_category_id = 40099
    settings_obj.save()
    return VkConnection.objects.create(user=owner, access_token="vk-token", group_id=7)


def first_publish_done(user, *, auto_sync=True):
    settings_obj = sync_settings_get(user)
    settings_obj.first_published_at = timezone.now()
    settings_obj.vk_category_id = 40099  # a first publish needs one
    settings_obj.auto_sync = auto_sync
    settings_obj.save()


@pytest.mark.parametrize("trigger", [RunTrigger.SCHEDULE, RunTrigger.EVOTOR_CHANGE])
def test_automatic_runs_wait_for_the_first_publish(owner, vk, trigger):
    assert sync_run_start_check(owner, trigger=trigger).refusal.code == "automatic_off"


@pytest.mark.parametrize("trigger", [RunTrigger.SCHEDULE, RunTrigger.EVOTOR_CHANGE])
def test_automatic_runs_stop_when_the_merchant_turns_them_off(owner, vk, trigger):
    first_publish_done(owner, auto_sync=False)
    assert sync_run_start_check(owner, trigger=trigger).refusal.code == "automatic_off"


@pytest.mark.parametrize("trigger", [RunTrigger.MANUAL, RunTrigger.RETRY])
def test_a_run_by_hand_needs_a_vk_connection(owner, trigger):
    check = sync_run_start_check(owner, trigger=trigger)
    assert check.refusal.code == "vk_not_connected"
    with pytest.raises(StartRefused):
        sync_run_request(user=owner, trigger=trigger)
    assert not SyncRun.objects.exists()


def test_a_run_by_hand_on_a_broken_vk_connection_says_what_vk_said(owner, vk):
    VkConnection.objects.filter(pk=vk.pk).update(
        state=ConnectionState.BROKEN, last_error="Токен отозван."
    )
    refusal = sync_run_start_check(owner, trigger=RunTrigger.MANUAL).refusal
    assert refusal.code == "vk_broken" and "Токен отозван." in refusal.message


def test_an_inactive_merchant_gets_no_run(owner, vk):
    type(owner).objects.filter(pk=owner.pk).update(is_active=False)
    owner.refresh_from_db()
    assert sync_run_start_check(owner, trigger=RunTrigger.MANUAL).refusal.code == "inactive"


def test_a_live_run_is_the_answer_instead_of_a_second_one(owner, vk):
    first_publish_done(owner)
    queued = SyncRun.objects.create(user=owner, status=RunStatus.QUEUED)
    check = sync_run_start_check(owner, trigger=RunTrigger.SCHEDULE)
    assert check.live == queued and check.refusal is None
    run, started = sync_run_request(user=owner, trigger=RunTrigger.MANUAL)
    assert (run, started) == (queued, False)


def test_a_lock_held_by_a_run_nobody_recorded_refuses(owner, vk):
    lock = sync_lock_acquire(owner.pk)
    try:
        refusal = sync_run_start_check(owner, trigger=RunTrigger.MANUAL).refusal
    finally:
        lock.release()
    assert refusal.code == "locked"


def test_a_run_that_may_start_is_queued_with_its_task_sent_after_commit(
    owner, vk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run, started = sync_run_request(user=owner, trigger=RunTrigger.MANUAL)
    assert started and run.status == RunStatus.QUEUED
    assert len(callbacks) == 1


def test_a_run_without_a_vk_category_is_refused_with_the_reason(owner, vk):
    settings_obj = sync_settings_get(owner)
    settings_obj.vk_category_id = None
    settings_obj.save()
    refusal = sync_run_start_check(owner, trigger=RunTrigger.MANUAL).refusal
    assert refusal.code == "no_category"
    with pytest.raises(StartRefused):
        sync_run_request(user=owner, trigger=RunTrigger.MANUAL)
    assert not SyncRun.objects.filter(user=owner).exists()
