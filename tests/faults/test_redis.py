"""Redis stopped and started again, for real (issue 13 item 18): the cache, the task broker and
the VK rate limiter on a redis-server this test runs and kills.

While it is down, pages answer and a run asked for fails at once with a message; a run that
loses it half-way ends failed with a message, not stuck "running"; once it is back, the next
run is queued, carried out, and publishes what was left, nothing twice. No operator involved.
"""

from __future__ import annotations

import pydoc
import signal
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django_q.brokers import get_broker
from django_q.signals import pre_execute
from django_q.signing import SignedPackage

from evosync.models import PendingTask
from evosync.queues import LANES, lane_cluster
from sync.lifecycle import sync_run_create
from sync.models import RunStatus, SyncRun
from sync.publish.run import sync_run_execute
from tests.sync_engine.test_failures import assert_no_duplicates_and_links_intact

pytestmark = pytest.mark.django_db(transaction=True)

READ_PAGES = ["sync:dashboard", "sync:settings", "sync:runs", "catalog:stores"]


def in_russian(message) -> str:
    with translation.override("ru"):
        return str(message)


def run_queued_tasks() -> list:
    """Do what the lanes' workers do with every task waiting in the broker (the signal a worker
    sends before a task frees its pending slot); returns their results."""
    results = []
    for lane in LANES:
        broker = get_broker(lane_cluster(lane))
        while broker.queue_size():
            for ack_id, payload in broker.dequeue() or []:
                task = SignedPackage.loads(payload)
                func = pydoc.locate(task["func"])
                pre_execute.send(sender="django_q", func=func, task=task)
                results.append(func(*task["args"], **task["kwargs"]))
                broker.acknowledge(ack_id)
    return results


def queued() -> int:
    """Tasks waiting in both lanes."""
    return sum(get_broker(lane_cluster(lane)).queue_size() for lane in LANES)


@pytest.fixture
def published(shop, default_photo_path, on_redis):
    """A merchant who published once through the Redis-backed deployment."""
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    return shop


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
@pytest.mark.parametrize("page", READ_PAGES)
def test_pages_answer_while_redis_is_down_and_after_it_returns(
    published, owner_client, on_redis, sig, page
):
    on_redis.stop(sig)
    assert owner_client.get(reverse(page)).status_code == 200
    on_redis.start()
    assert owner_client.get(reverse(page)).status_code == 200


def test_sync_now_with_redis_down_fails_at_once_and_works_once_it_is_back(
    published, owner_client, on_redis
):
    shop = published
    run_queued_tasks()  # whatever the first publish queued (nothing left waiting)
    on_redis.stop(signal.SIGKILL)

    response = owner_client.post(reverse("sync:sync_now"), follow=True)

    assert response.status_code == 200
    failed = SyncRun.objects.filter(user=shop.user).latest("pk")
    assert failed.status == RunStatus.FAILED
    assert failed.error == in_russian(SyncRun.QUEUE_DOWN_MESSAGE)
    assert failed.error in response.content.decode()

    on_redis.start()
    shop.add("new", "Новый товар на полке", image=False, price=77)
    response = owner_client.post(reverse("sync:sync_now"))

    new = SyncRun.objects.filter(user=shop.user).latest("pk")
    assert new.pk != failed.pk and new.status == RunStatus.QUEUED
    assert response["Location"] == reverse("sync:run_detail", args=[new.pk])
    run_queued_tasks()
    new.refresh_from_db()
    assert new.status == RunStatus.SUCCEEDED, new.error
    assert_no_duplicates_and_links_intact(shop)


def test_a_run_whose_task_redis_lost_is_sent_again_and_carried_out(
    published, owner_client, on_redis
):
    """A refresh queues a run; Redis dies with its task (no persistence) and comes back empty.
    The row is not left queued for ever: the next "Sync now" after the minute's grace sends the
    same run again, a worker carries it out, and the new product is on VK once."""
    shop = published
    run_queued_tasks()
    shop.add("new", "Новый товар на полке", image=False, price=77)
    shop.refresh()  # queues a run (sync.signals), its task waiting in Redis
    queued_run = SyncRun.objects.get(user=shop.user, status=RunStatus.QUEUED)
    assert queued() == 1

    on_redis.restart()  # SIGKILL, then an empty server on the same port
    assert queued() == 0
    # The minute a freshly sent task is given to reach a worker has passed (for the row and
    # for the merchant's pending slot, both stamped when the task was sent).
    a_minute_ago = timezone.now() - timedelta(seconds=61)
    SyncRun.objects.filter(pk=queued_run.pk).update(task_sent_at=a_minute_ago)
    PendingTask.objects.update(queued_at=a_minute_ago)
    response = owner_client.post(reverse("sync:sync_now"))

    assert response["Location"] == reverse("sync:run_detail", args=[queued_run.pk])
    assert queued() == 1
    run_queued_tasks()
    queued_run.refresh_from_db()
    assert queued_run.status == RunStatus.SUCCEEDED, queued_run.error
    assert queued_run.created == 1
    assert len(shop.vk_items()) == len(shop.products)
    assert_no_duplicates_and_links_intact(shop)


ITEMS = 45


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_redis_lost_in_the_middle_of_a_run_fails_it_with_a_message_and_the_next_run_finishes(
    published, on_redis, sig
):
    shop = published
    # More items than one request carries (20 new items an `execute`), so the run is cut short.
    for n in range(ITEMS):
        shop.add(f"x{n}", f"Товар для проверки {n}", image=False, price=10 + n)
    shop.refresh()
    state = {"stopped": False}

    def progress(run):
        if not state["stopped"] and run.done > 0:
            state["stopped"] = True
            on_redis.stop(sig)

    run = sync_run_execute(run=sync_run_create(user=shop.user), progress=progress)

    assert state["stopped"]
    assert run.status == RunStatus.FAILED
    assert run.error  # a message for the merchant, in Russian
    assert any("а" <= ch.lower() <= "я" for ch in run.error), run.error
    assert 0 < run.created < ITEMS
    assert not SyncRun.objects.filter(user=shop.user, status=RunStatus.RUNNING).exists()
    assert_no_duplicates_and_links_intact(shop)

    on_redis.start()
    again = shop.sync()

    assert again.status == RunStatus.SUCCEEDED, again.error
    assert again.created == ITEMS - run.created
    assert len(shop.vk_items()) == len(shop.products)
    assert_no_duplicates_and_links_intact(shop)
