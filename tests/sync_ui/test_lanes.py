"""Publishing and the VK catalog in the task lanes (issue 10 item 3): a change's publish in the
fast lane, whole-catalog work in the slow one, and no periodic fan-out queueing a second task for
a merchant whose previous one still waits. Tasks really go into the ORM broker's queues."""

from __future__ import annotations

import pytest
from django_q.brokers import get_broker
from django_q.conf import Conf

from evosync.queues import FAST, SLOW, lane_cluster
from sync.lifecycle import sync_run_request
from sync.models import RunStatus, RunTrigger, SyncRun
from sync.tasks import sync_all
from tests.sync_ui.test_automation import published
from vk_catalog.models import VkCatalogRefresh
from vk_catalog.tasks import refresh_vk_catalog_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def orm_queue(monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", "default")
    monkeypatch.setattr(Conf, "BROKER_CLASS", None)


def queued(lane: str) -> int:
    return get_broker(lane_cluster(lane)).queue_size()


def test_a_publish_after_a_change_goes_into_the_fast_lane(
    connected, orm_queue, django_capture_on_commit_callbacks
):
    published(connected)
    with django_capture_on_commit_callbacks(execute=True):
        _run, started = sync_run_request(user=connected, trigger=RunTrigger.EVOTOR_CHANGE)
    assert started
    assert (queued(FAST), queued(SLOW)) == (1, 0)


def test_a_publish_by_hand_goes_into_the_slow_lane(
    connected, orm_queue, django_capture_on_commit_callbacks
):
    published(connected)
    with django_capture_on_commit_callbacks(execute=True):
        sync_run_request(user=connected, trigger=RunTrigger.MANUAL)
    assert (queued(FAST), queued(SLOW)) == (0, 1)


def test_the_periodic_publish_never_queues_twice_for_a_merchant_still_waiting(
    connected, orm_queue, django_capture_on_commit_callbacks
):
    published(connected)
    with django_capture_on_commit_callbacks(execute=True):
        assert sync_all() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert sync_all() == 0
    assert SyncRun.objects.filter(user=connected, status=RunStatus.QUEUED).count() == 1
    assert queued(SLOW) == 1


def test_the_periodic_vk_read_never_queues_twice_for_a_merchant_still_waiting(
    connected, orm_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert refresh_vk_catalog_all() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert refresh_vk_catalog_all() == 0
    assert VkCatalogRefresh.objects.filter(user=connected).count() == 1
    assert (queued(FAST), queued(SLOW)) == (0, 1)
