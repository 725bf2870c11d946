"""The run lifecycle every run model shares (evosync/runs.py), and what the merchant sees when
the task queue or the cache is down (issue 13: "Redis down leaves stuck rows").

The outages are real: django-q2 is pointed at a Redis on a loopback port nothing listens on
(so sending a task raises redis-py's own ConnectionError), and the cache likewise. A queue that
lost its tasks (Redis restarted empty) is the ORM broker with no row for the run.
"""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django_q.conf import Conf
from django_q.models import OrmQ

from catalog.models import CatalogRefresh
from catalog.models import RefreshStatus as CatalogStatus
from connections.models import EvotorConnection, VkConnection
from evosync.queues import FAST, SLOW, lane_cluster, task_lane
from evosync.runs import run_close_if_dead, run_live, stale_after
from sync.models import RunStatus, RunTrigger, SyncRun
from sync.plan.inputs import sync_settings_get
from vk_catalog.models import RefreshStatus as VkStatus
from vk_catalog.models import VkCatalogRefresh


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def broker_down(monkeypatch):
    """django-q2 sends tasks to a Redis that is not there."""
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "BROKER_CLASS", None)
    monkeypatch.setattr(Conf, "DJANGO_REDIS", None)
    monkeypatch.setattr(Conf, "REDIS", f"redis://127.0.0.1:{closed_port()}/0")


@pytest.fixture
def orm_queue(monkeypatch):
    """A working queue no worker reads (the ORM broker): tasks sent stay there to be seen."""
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "BROKER_CLASS", None)
    monkeypatch.setattr(Conf, "ORM", "default")


@pytest.fixture
def cache_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
        }
    }


@pytest.fixture
def publishing(owner):
    """A merchant who published once and whose VK connection works."""
    VkConnection.objects.create(user=owner, access_token="vk-token-of-owner", group_id=123)
    settings_obj = sync_settings_get(owner)
    settings_obj.first_published_at = timezone.now()
    settings_obj.vk_category_id = 40099  # a first publish needs one
    settings_obj.save()
    return owner


def in_russian(message) -> str:
    with translation.override("ru"):
        return str(message)


def queued_tasks(func: str) -> list[tuple]:
    return [
        task["args"] for task in (row.task for row in OrmQ.objects.all()) if task["func"] == func
    ]


def make_row(model, user, *, status, age: timedelta, **fields):
    now = timezone.now()
    if model is SyncRun:
        row = SyncRun.objects.create(user=user, status=status, **fields)
        SyncRun.objects.filter(pk=row.pk).update(created_at=now - age)
    else:
        row = model.objects.create(user=user, status=status, requested_at=now - age, **fields)
    row.refresh_from_db()
    return row


# --- the broker is down: the row fails at once, the page says so ------------------------------
@pytest.mark.django_db(transaction=True)
def test_sync_now_with_the_queue_down_fails_the_run_at_once_and_says_so(
    owner_client, publishing, broker_down
):
    response = owner_client.post(reverse("sync:sync_now"), follow=True)
    assert response.status_code == 200
    run = SyncRun.objects.get(user=publishing)
    assert run.status == RunStatus.FAILED
    assert run.error == in_russian(SyncRun.QUEUE_DOWN_MESSAGE)
    assert run.error in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_after_a_queue_outage_sync_now_starts_a_new_run(
    owner_client, publishing, broker_down, monkeypatch
):
    owner_client.post(reverse("sync:sync_now"))
    failed = SyncRun.objects.get(user=publishing)
    monkeypatch.setattr(Conf, "ORM", "default")  # the queue is back
    response = owner_client.post(reverse("sync:sync_now"))
    new = SyncRun.objects.exclude(pk=failed.pk).get()
    assert response["Location"] == reverse("sync:run_detail", args=[new.pk])
    assert queued_tasks("sync.tasks.sync_user") == [(publishing.pk, RunTrigger.MANUAL, new.pk)]


@pytest.mark.django_db(transaction=True)
def test_refresh_with_the_queue_down_fails_the_refresh_at_once_and_says_so(
    owner_client, owner, broker_down
):
    EvotorConnection.objects.create(user=owner, cloud_token="evotor-token-0123456789")
    response = owner_client.post(reverse("catalog:refresh"), follow=True)
    assert response.status_code == 200
    refresh = CatalogRefresh.objects.get(user=owner)
    assert refresh.status == CatalogStatus.FAILED
    assert refresh.error == in_russian(CatalogRefresh.QUEUE_DOWN_MESSAGE)
    assert refresh.error in response.content.decode()
    # Nothing waits as "already refreshing": the next press queues a new one.
    response = owner_client.post(reverse("catalog:refresh"), follow=True)
    assert CatalogRefresh.objects.filter(user=owner).count() == 2


@pytest.mark.django_db(transaction=True)
def test_vk_catalog_refresh_with_the_queue_down_fails_at_once_and_says_so(
    owner_client, publishing, broker_down
):
    response = owner_client.post(reverse("vk_catalog:refresh"), HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    refresh = VkCatalogRefresh.objects.get(user=publishing)
    assert refresh.status == VkStatus.FAILED
    assert response.json() == {"ok": False, "error": refresh.error}
    assert refresh.error == in_russian(VkCatalogRefresh.QUEUE_DOWN_MESSAGE)


# --- a queued row with no task behind it --------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_a_queued_run_whose_task_the_queue_lost_is_sent_again_within_a_minute(
    owner_client, publishing, orm_queue
):
    lost = make_row(SyncRun, publishing, status=RunStatus.QUEUED, age=timedelta(seconds=61))
    response = owner_client.post(reverse("sync:sync_now"))
    assert response["Location"] == reverse("sync:run_detail", args=[lost.pk])
    lost.refresh_from_db()
    assert lost.status == RunStatus.QUEUED
    assert queued_tasks("sync.tasks.sync_user") == [(publishing.pk, lost.trigger, lost.pk)]


@pytest.mark.django_db(transaction=True)
def test_a_queued_run_whose_task_waits_in_the_queue_is_left_alone(publishing, orm_queue):
    waiting = make_row(SyncRun, publishing, status=RunStatus.QUEUED, age=timedelta(minutes=5))
    # In the run's own lane: the queue of the other lane says nothing about it.
    lane = lane_cluster(task_lane(SyncRun.TASK, waiting.task_variant()))
    OrmQ.objects.create(key=lane, payload="someone else's task", lock=timezone.now())
    assert run_live(SyncRun.objects.filter(user=publishing)) == waiting
    assert OrmQ.objects.count() == 1


@pytest.mark.parametrize("model", [SyncRun, CatalogRefresh, VkCatalogRefresh])
@pytest.mark.django_db(transaction=True)
def test_a_queued_row_with_no_task_and_the_queue_down_is_failed(owner, broker_down, model):
    row = make_row(model, owner, status="queued", age=timedelta(seconds=61))
    assert run_close_if_dead(row) is True
    row.refresh_from_db()
    assert row.status == "failed"
    assert row.error == in_russian(model.QUEUE_DOWN_MESSAGE)


@pytest.mark.parametrize("model", [SyncRun, CatalogRefresh, VkCatalogRefresh])
def test_a_queued_row_just_sent_is_alive(owner, broker_down, model):
    row = make_row(model, owner, status="queued", age=timedelta(seconds=5))
    assert run_close_if_dead(row) is False
    row.refresh_from_db()
    assert row.status == "queued"


@pytest.mark.parametrize("model", [SyncRun, CatalogRefresh, VkCatalogRefresh])
def test_a_row_queued_past_the_redelivery_delay_is_given_up(owner, model):
    row = make_row(model, owner, status="queued", age=stale_after() + timedelta(seconds=1))
    assert run_close_if_dead(row) is True
    row.refresh_from_db()
    assert row.error == in_russian(model.NEVER_STARTED_MESSAGE)


@pytest.mark.parametrize("model", [SyncRun, CatalogRefresh, VkCatalogRefresh])
def test_a_running_row_whose_worker_holds_no_lock_is_interrupted(owner, model):
    row = make_row(
        model, owner, status="running", age=timedelta(seconds=5), started_at=timezone.now()
    )
    assert run_close_if_dead(row) is True
    row.refresh_from_db()
    assert row.status == "failed"
    assert row.error == in_russian(model.INTERRUPTED_MESSAGE)


def test_a_running_catalog_refresh_whose_worker_holds_the_lock_is_alive(owner):
    from catalog.services import refresh_lock

    row = make_row(
        CatalogRefresh, owner, status="running", age=timedelta(0), started_at=timezone.now()
    )
    with refresh_lock(owner.pk) as acquired:
        assert acquired
        assert run_close_if_dead(row) is False


def test_the_redelivery_delay_is_read_from_the_queue_settings(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "retry": 1234}
    assert stale_after() == timedelta(seconds=1234)


# --- pages that only read survive a cache outage --------------------------------------------------
@pytest.mark.parametrize("page", ["sync:settings", "sync:dashboard", "catalog:stores"])
def test_pages_that_only_read_survive_a_cache_outage(
    owner_client, publishing, vk_sandbox, cache_down, page
):
    response = owner_client.get(reverse(page))
    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_task_waiting_in_the_other_lane_does_not_keep_a_lost_run_queued(publishing, orm_queue):
    lost = make_row(SyncRun, publishing, status=RunStatus.QUEUED, age=timedelta(minutes=5))
    other = FAST if task_lane(SyncRun.TASK, lost.task_variant()) == SLOW else SLOW
    OrmQ.objects.create(key=lane_cluster(other), payload="another lane's task", lock=timezone.now())
    assert run_live(SyncRun.objects.filter(user=publishing)) == lost
    # Sent again, into its own lane.
    assert OrmQ.objects.exclude(key=lane_cluster(other)).count() == 1
