"""The task queue's lanes and deduplicated enqueues (issue 10 item 3), on both brokers.

Tasks really go through django-q2 into the broker (the ORM broker's rows, or a `redis-server` of
the test's own); the worker's side is django-q2's own `worker()` fed with what the broker hands
out, so the `pre_execute` signal that frees a slot is the one a worker sends.
"""

from __future__ import annotations

import inspect
import signal
import threading
from datetime import timedelta
from importlib import import_module
from multiprocessing import Queue, Value
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.signing import SignedPackage

from catalog.tasks import REFRESH_TASK, refresh_catalog_all
from connections.models import EvotorConnection
from evosync.models import PendingTask
from evosync.queues import FAST, SLOW, TASK_LANES, lane_cluster, lane_depths, task_lane
from evosync.runs import enqueue_task
from sync.models import RunTrigger
from tests.faults.conftest import REDIS_BINARY, RedisServer

CHANGES_TASK = "catalog.tasks.read_changes_for_user"


@pytest.fixture(params=["orm", "redis"])
def broker(request, tmp_path, monkeypatch):
    """Tasks really queued (not run inline) in the broker named by the parameter."""
    monkeypatch.setattr(Conf, "SYNC", False)
    if request.param == "orm":
        monkeypatch.setattr(Conf, "ORM", "default")
        yield "orm"
        return
    if REDIS_BINARY is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path).start()
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "BROKER_CLASS", None)
    monkeypatch.setattr(Conf, "DJANGO_REDIS", None)
    monkeypatch.setattr(Conf, "REDIS", server.url)
    yield "redis"
    server.stop(signal.SIGKILL)


def queued(lane: str) -> int:
    return get_broker(lane_cluster(lane)).queue_size()


def work(lane: str) -> list[dict]:
    """What a worker of `lane` does with every task waiting there: django-q2's own worker loop
    (which sends `pre_execute`, then runs the function). Returns the tasks it ran."""
    from django_q.worker import worker

    broker = get_broker(lane_cluster(lane))
    ran = []
    while broker.queue_size():
        for ack_id, payload in broker.dequeue() or []:
            task = SignedPackage.loads(payload)
            # Keep the test's database connection (a real worker closes stale ones first).
            task["sync"] = True
            tasks, results = Queue(), Queue()
            tasks.put(task)
            tasks.put("STOP")
            worker(tasks, results, Value("f", -1))
            ran.append(results.get(timeout=10))
            broker.acknowledge(ack_id)
    return ran


def connect(user) -> EvotorConnection:
    return EvotorConnection.objects.create(
        user=user, cloud_token="evotor-token", evotor_user_id=f"01-{user.pk:015d}"
    )


# --- lanes -----------------------------------------------------------------------------------
def own_task_functions() -> list[str]:
    found = []
    for app_config in apps.get_app_configs():
        if Path(app_config.path).parent == Path(settings.BASE_DIR):
            try:
                module = import_module(f"{app_config.name}.tasks")
            except ModuleNotFoundError:
                continue
            for name, value in vars(module).items():
                own = inspect.isfunction(value) and value.__module__ == module.__name__
                if own and not name.startswith("_"):
                    found.append(f"{module.__name__}.{name}")
    return sorted(found)


@pytest.mark.parametrize("func", own_task_functions())
def test_every_task_function_has_a_lane(func):
    assert TASK_LANES.get(func) in (FAST, SLOW)


def test_every_lane_entry_names_a_task_that_exists():
    for key in TASK_LANES:
        module, name = key.split(":")[0].rsplit(".", 1)
        assert callable(getattr(import_module(module), name)), key


def test_changes_take_the_fast_lane_and_whole_catalogs_the_slow_one():
    assert task_lane("webhooks.tasks.process_evotor_change") == FAST
    assert task_lane(CHANGES_TASK) == FAST
    assert task_lane("sync.tasks.sync_user", RunTrigger.EVOTOR_CHANGE) == FAST
    for trigger in (RunTrigger.MANUAL, RunTrigger.SCHEDULE, RunTrigger.RETRY):
        assert task_lane("sync.tasks.sync_user", trigger) == SLOW
    assert task_lane(REFRESH_TASK) == SLOW
    assert task_lane("vk_catalog.tasks.refresh_vk_catalog_for_user") == SLOW


def test_a_task_nobody_placed_takes_the_slow_lane():
    assert task_lane("somewhere.tasks.new_thing") == SLOW


def test_the_slow_lane_is_an_alternative_cluster_of_the_same_site():
    q = settings.Q_CLUSTER
    assert lane_cluster(FAST) == q["name"]
    slow = q["ALT_CLUSTERS"][lane_cluster(SLOW)]
    assert slow["workers"] == settings.Q_SLOW_WORKERS
    # Never a task taken ahead of a free worker in the slow lane.
    assert slow["queue_limit"] == settings.Q_SLOW_WORKERS


@pytest.mark.django_db
def test_a_task_goes_into_its_lanes_queue_only(broker, owner):
    fast = enqueue_task(CHANGES_TASK, owner.pk, user_id=owner.pk)
    slow = enqueue_task(REFRESH_TASK, owner.pk, user_id=owner.pk)
    assert (fast.lane, slow.lane) == (FAST, SLOW)
    assert fast.sent and slow.sent
    assert (queued(FAST), queued(SLOW)) == (1, 1)
    assert [task["func"] for task in work(SLOW)] == [REFRESH_TASK]
    assert queued(FAST) == 1


# --- deduplicated enqueues -------------------------------------------------------------------
@pytest.mark.django_db
def test_a_second_task_of_a_kind_while_one_waits_is_a_no_op_that_says_so(broker, owner):
    first = enqueue_task(REFRESH_TASK, owner.pk, user_id=owner.pk)
    second = enqueue_task(REFRESH_TASK, owner.pk, user_id=owner.pk)
    assert first.sent and not first.already_pending
    assert not second.sent and second.already_pending
    assert queued(SLOW) == 1
    assert PendingTask.objects.get().task_name == f"{REFRESH_TASK}:{owner.pk}"


@pytest.mark.django_db
def test_other_kinds_and_other_merchants_are_not_held_back(broker, owner, other_merchant):
    assert enqueue_task(REFRESH_TASK, owner.pk, user_id=owner.pk).sent
    assert enqueue_task(REFRESH_TASK, other_merchant.pk, user_id=other_merchant.pk).sent
    assert enqueue_task(CHANGES_TASK, owner.pk, user_id=owner.pk).sent
    assert (queued(FAST), queued(SLOW)) == (1, 2)


@pytest.mark.django_db
def test_once_the_worker_starts_the_task_the_next_one_may_be_queued(broker, owner):
    enqueue_task(REFRESH_TASK, owner.pk, user_id=owner.pk)
    (ran,) = work(SLOW)
    assert ran["success"], ran["result"]
    assert not PendingTask.objects.exists()
    assert enqueue_task(REFRESH_TASK, owner.pk, user_id=owner.pk).sent


@pytest.mark.django_db
def test_events_of_no_merchant_are_never_held_back(broker):
    for change_id in (1, 1):
        assert enqueue_task(
            "webhooks.tasks.process_evotor_change", change_id, user_id=0, key=change_id
        ).sent
    assert queued(FAST) == 2
    assert not PendingTask.objects.exists()


@pytest.mark.django_db
def test_a_broker_that_refuses_the_task_leaves_no_slot_behind(owner, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "BROKER_CLASS", None)
    monkeypatch.setattr(Conf, "DJANGO_REDIS", None)
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")  # nothing listens there
    import redis

    with pytest.raises(redis.exceptions.ConnectionError):
        enqueue_task(REFRESH_TASK, owner.pk, user_id=owner.pk)
    assert not PendingTask.objects.exists()


@pytest.mark.django_db
def test_a_slot_whose_task_the_broker_lost_is_taken_over(broker, owner):
    enqueue_task(REFRESH_TASK, owner.pk, user_id=owner.pk)
    get_broker(lane_cluster(SLOW)).purge_queue()  # Redis restarted empty
    assert enqueue_task(REFRESH_TASK, owner.pk, user_id=owner.pk).already_pending
    # Past the minute a task is given to reach a worker, with nothing in the lane's queue.
    PendingTask.objects.update(queued_at=timezone.now() - timedelta(seconds=61))
    assert enqueue_task(REFRESH_TASK, owner.pk, user_id=owner.pk).sent
    assert queued(SLOW) == 1


@pytest.mark.django_db
def test_a_slot_is_not_taken_over_while_its_lane_still_holds_tasks(broker, owner):
    enqueue_task(REFRESH_TASK, owner.pk, user_id=owner.pk)
    PendingTask.objects.update(queued_at=timezone.now() - timedelta(seconds=61))
    assert enqueue_task(REFRESH_TASK, owner.pk, user_id=owner.pk).already_pending
    assert queued(SLOW) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_queue_one_task(broker, owner):
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:"):
        # The in-memory test database is shared between threads through SQLite's shared cache,
        # which refuses concurrent writers outright instead of queueing them.
        pytest.skip("needs a database each thread connects to (MariaDB, or a SQLite file)")
    senders = 8
    barrier = threading.Barrier(senders)
    answers = []

    def send():
        try:
            barrier.wait(timeout=30)
            answers.append(enqueue_task(REFRESH_TASK, owner.pk, user_id=owner.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == senders
    assert sum(answer.sent for answer in answers) == 1
    assert queued(SLOW) == 1


@pytest.mark.django_db
def test_the_periodic_refresh_never_queues_twice_for_a_merchant_still_waiting(
    broker, owner, other_merchant
):
    connect(owner)
    connect(other_merchant)
    assert refresh_catalog_all() == 2
    # The next cycle comes while both tasks still wait: nothing new, the backlog stays at 2.
    assert refresh_catalog_all() == 0
    assert queued(SLOW) == 2
    work(SLOW)
    assert refresh_catalog_all() == 2


@pytest.mark.django_db
def test_the_change_poll_never_queues_twice_for_a_merchant_still_waiting(broker, owner, settings):
    from catalog.tasks import read_changes_all

    settings.EVOTOR_INTAKE = ["poll"]
    connect(owner)
    assert (read_changes_all(), read_changes_all()) == (1, 0)
    assert queued(FAST) == 1


# --- what staff see --------------------------------------------------------------------------
@pytest.mark.django_db
def test_lane_depths_count_the_broker_and_the_pending_tasks(broker, owner, other_merchant):
    enqueue_task(REFRESH_TASK, owner.pk, user_id=owner.pk)
    enqueue_task(REFRESH_TASK, other_merchant.pk, user_id=other_merchant.pk)
    enqueue_task(CHANGES_TASK, owner.pk, user_id=owner.pk)
    depths = {depth.lane: depth for depth in lane_depths()}
    assert (depths[FAST].queued, depths[FAST].pending) == (1, 1)
    assert (depths[SLOW].queued, depths[SLOW].pending) == (2, 2)
    assert depths[SLOW].pending_by_kind == [(REFRESH_TASK, 2)]
    assert depths[SLOW].workers == settings.Q_SLOW_WORKERS


# --- schedules -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_schedules_are_sent_by_the_scheduler_of_their_lane():
    call_command("setup_schedules", verbosity=0)
    clusters = dict(Schedule.objects.values_list("name", "cluster"))
    assert clusters["refresh_catalog"] == lane_cluster(SLOW)
    assert clusters["refresh_vk_catalog"] == lane_cluster(SLOW)
    assert clusters["sync_to_vk"] == lane_cluster(SLOW)
    assert clusters["evotor_events"] == lane_cluster(FAST)
    assert clusters["read_catalog_changes"] == lane_cluster(FAST)


def test_reconciliation_runs_nightly_and_the_full_publish_hourly_by_default():
    from evosync import settings as defaults

    assert defaults.CATALOG_REFRESH_INTERVAL_SECONDS == 86_400
    assert defaults.VK_CATALOG_REFRESH_INTERVAL_SECONDS == 86_400
    assert defaults.SYNC_INTERVAL_SECONDS == 3_600


def _next_at(hour: int):
    local = timezone.localtime()
    start = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    return start if start > local else start + timedelta(days=1)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["refresh_catalog", "refresh_vk_catalog"])
def test_the_daily_reads_are_timed_for_the_night(name, settings):
    settings.RECONCILE_HOUR = 3
    call_command("setup_schedules", verbosity=0)
    schedule = Schedule.objects.get(name=name)
    assert schedule.minutes == 24 * 60
    assert schedule.next_run == _next_at(3)


@pytest.mark.django_db
def test_a_deploy_moving_a_read_to_daily_times_it_for_the_night(settings):
    settings.CATALOG_REFRESH_INTERVAL_SECONDS = 900  # what deployments had
    call_command("setup_schedules", verbosity=0)
    assert Schedule.objects.get(name="refresh_catalog").next_run <= timezone.now()
    settings.CATALOG_REFRESH_INTERVAL_SECONDS = 86_400
    settings.RECONCILE_HOUR = 4
    call_command("setup_schedules", verbosity=0)
    assert Schedule.objects.get(name="refresh_catalog").next_run == _next_at(4)


@pytest.mark.django_db
def test_a_read_more_often_than_daily_starts_at_once(settings):
    settings.CATALOG_REFRESH_INTERVAL_SECONDS = 3600
    before = timezone.now()
    call_command("setup_schedules", verbosity=0)
    assert Schedule.objects.get(name="refresh_catalog").next_run - before < timedelta(minutes=1)
