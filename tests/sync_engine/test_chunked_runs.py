"""A long whole run in chunks (sync/publish/chunked.py): with chunks of two items the
five-product first publish is applied by three tasks of one run, each queuing the next on the
slow lane; every item exists once, the run's counters add up, and a next task the broker lost
is sent again and finishes the run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.signals import pre_enqueue

from evosync.queues import SLOW, lane_cluster
from sync.lifecycle import sync_run_create, sync_run_live_or_close_dead
from sync.models import ItemLink, RunStatus, SyncRun
from sync.publish.run import sync_run_execute, sync_run_execute_to_end
from sync.tasks import sync_user


@pytest.fixture
def chunks_of_two(settings):
    settings.SYNC_RUN_CHUNK_ITEMS = 2


@pytest.fixture
def sent_tasks():
    """(task name, cluster) of every task handed to django-q2 during the test."""
    sent = []

    def receiver(sender, task=None, **kwargs):
        sent.append((task["name"], task.get("cluster")))

    pre_enqueue.connect(receiver, dispatch_uid="chunked-runs-test")
    yield sent
    pre_enqueue.disconnect(dispatch_uid="chunked-runs-test")


def vk_requests(shop) -> int:
    return sum(shop.vk.stats()["requests_by_method"].values())


def every_item_once(shop) -> list[dict]:
    items = shop.vk_items()
    skus = [item["sku"] for item in items]
    assert len(set(skus)) == len(skus)
    links = ItemLink.objects.filter(user=shop.user)
    assert {link.vk_item_id for link in links} == {item["id"] for item in items}
    return items


def test_a_first_publish_in_chunks_queues_itself_on_the_slow_lane_until_done(
    shop, chunks_of_two, sent_tasks, django_capture_on_commit_callbacks
):
    before = vk_requests(shop)
    run = sync_run_create(user=shop.user)
    with django_capture_on_commit_callbacks(execute=True):
        sync_user(shop.user.pk, run.trigger, run.pk)
        first_chunk = vk_requests(shop) - before  # the next tasks run as this block ends
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert len(every_item_once(shop)) == 5
    # One run for the merchant, its counters over all three tasks.
    assert SyncRun.objects.filter(user=shop.user).count() == 1
    assert (run.created, run.done, run.total, run.failed) == (5, 5, 5, 0)
    assert run.plan_summary["create"] == 5  # the whole plan, as the first chunk saw it
    assert run.plan_summary["chunks"] == 2  # paused twice: 2 + 2 + 1 items
    # The requests of all three tasks (each with a client of its own), not the last one's;
    # the VK catalog's re-read queued after the run is not the run's.
    assert first_chunk < run.vk_requests < vk_requests(shop) - before
    name = f"sync.tasks.sync_user:{shop.user.pk}:{run.pk}"
    assert [sent for sent in sent_tasks if sent[0] == name] == [(name, lane_cluster(SLOW))] * 2
    assert run.items.count() == 5


def test_between_chunks_the_run_is_queued_with_its_progress(shop, chunks_of_two):
    reads = shop.vk.stats()["calls_by_method"].get("market.get", 0)
    run = sync_run_execute(run=sync_run_create(user=shop.user), send_next=False)
    assert (run.status, run.done, run.total, run.created) == (RunStatus.QUEUED, 2, 5, 2)
    assert run.started_at is not None and run.finished_at is None
    assert len(shop.vk_items()) == 2
    assert run.task_variant() == "chunk"
    started = run.started_at
    run = sync_run_execute_to_end(run=run)
    assert (run.status, run.done, run.total, run.created) == (RunStatus.SUCCEEDED, 5, 5, 5)
    assert run.started_at == started
    assert len(every_item_once(shop)) == 5
    # The first chunk read the community (to adopt) and found it empty: the later chunks, whose
    # items in VK are all the run's own, did not read it again.
    assert run.plan_summary["vk_items_before"] == 0
    assert shop.vk.stats()["calls_by_method"].get("market.get", 0) == reads + 1


def test_the_merchants_page_shows_a_run_between_chunks_as_partly_done(
    shop, chunks_of_two, owner_client
):
    run = sync_run_execute(run=sync_run_create(user=shop.user), send_next=False)
    answer = owner_client.get(reverse("sync:run_progress", args=[run.pk])).json()
    assert (answer["status"], answer["done"], answer["done_items"], answer["total"]) == (
        "queued",
        False,
        2,
        5,
    )
    page = answer["html"]
    assert "Часть каталога опубликована" in page
    assert "2 из 5 (40 %)" in page
    assert "Вот-вот начнётся" not in page


def test_a_next_chunk_whose_task_was_lost_is_sent_again_and_finishes_the_run(
    shop, chunks_of_two, django_capture_on_commit_callbacks
):
    # The first chunk's worker queued nothing (its task lost with the broker, or the worker
    # gone before sending it): the run waits, queued, its progress kept.
    run = sync_run_execute(run=sync_run_create(user=shop.user), send_next=False)
    assert run.status == RunStatus.QUEUED
    # A page or the scheduler looks a minute later: the run has no task behind it.
    SyncRun.objects.filter(pk=run.pk).update(task_sent_at=timezone.now() - timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        sync_run_live_or_close_dead(shop.user)
    run.refresh_from_db()
    assert (run.status, run.created, run.done, run.total) == (RunStatus.SUCCEEDED, 5, 5, 5)
    assert len(every_item_once(shop)) == 5


def test_a_skipped_item_is_counted_once_over_the_chunks(shop, chunks_of_two):
    shop.add("nameless", "", group="Выпечка")  # VK refuses an item without a name
    shop.refresh()
    run = sync_run_execute_to_end(run=sync_run_create(user=shop.user))
    assert (run.created, run.skipped, run.total, run.done) == (5, 1, 5, 5)
    assert run.items.filter(status="skipped").count() == 1


def test_a_later_chunk_shows_the_runs_requests_so_far_not_its_own(shop, chunks_of_two):
    """What the pages read (the database) while the second chunk works counts the first
    chunk's requests too (the 100k benchmark saw 229 during chunk 3 after 1,112 at the pause)."""
    run = sync_run_execute(run=sync_run_create(user=shop.user), send_next=False)
    at_pause = run.vk_requests
    assert at_pause > 0
    saved: list[int] = []

    def progress(live):
        saved.append(SyncRun.objects.values_list("vk_requests", flat=True).get(pk=live.pk))

    run = sync_run_execute(run=run, send_next=False, progress=progress)
    assert saved and min(saved) >= at_pause
    assert saved == sorted(saved)
    assert run.vk_requests > at_pause
