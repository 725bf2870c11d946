"""Real workers of the two lanes (`manage.py qcluster`, with and without Q_CLUSTER_NAME), on the
ORM broker and on Redis: each takes its own lane's tasks only, and a task a worker starts frees
its merchant's pending slot.

Each worker is a child process of this test on a SQLite file of its own; the deadlines are
safety bounds on processes coming up, never measured expectations.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time

import pytest

from tests.faults.conftest import REDIS_BINARY, RedisServer
from tests.foundation.helpers import BASE_DIR, MANAGE, PYTHON, clean_env, run_manage

FAST_TASK = "catalog.tasks.read_changes_for_user"
SLOW_TASK = "catalog.tasks.refresh_catalog_for_user"
MERCHANT = 999  # nobody: both tasks end at once with "skipped"
BOUND = 90  # seconds; a safety bound only

ENQUEUE = f"""
import json
from evosync.runs import enqueue_task
sent = [
    enqueue_task({FAST_TASK!r}, {MERCHANT}, user_id={MERCHANT}),
    enqueue_task({SLOW_TASK!r}, {MERCHANT}, user_id={MERCHANT}),
    enqueue_task({SLOW_TASK!r}, {MERCHANT}, user_id={MERCHANT}),
]
print(json.dumps([[e.lane, e.sent, e.already_pending] for e in sent]))
"""


def done(db, name: str) -> bool:
    with sqlite3.connect(db) as conn:
        return bool(conn.execute("SELECT 1 FROM django_q_task WHERE name = ?", (name,)).fetchall())


def pending(db) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT kind FROM evosync_pendingtask")]


def wait_until(condition, worker: subprocess.Popen) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        assert worker.poll() is None, "the worker stopped"
        assert time.monotonic() < deadline, "nothing happened within the safety bound"
        time.sleep(0.3)


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [PYTHON, MANAGE, "qcluster"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop(worker: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


@pytest.fixture(params=["orm", "redis"])
def site_env(request, tmp_path):
    variables = {"DEBUG": "true", "Q_WORKERS": "1", "Q_SLOW_WORKERS": "1"}
    server = None
    if request.param == "redis":
        if REDIS_BINARY is None:
            pytest.skip("redis-server is not installed")
        server = RedisServer(tmp_path).start()
        variables["REDIS_URL"] = server.url
    env = clean_env(tmp_path, **variables)
    migrated = run_manage("migrate", "--noinput", env=env, timeout=300)
    assert migrated.returncode == 0, migrated.stderr
    yield env, tmp_path / "db.sqlite3"
    if server is not None:
        server.stop(signal.SIGKILL)


@pytest.mark.slow
def test_each_lanes_worker_takes_its_own_tasks_and_frees_the_slot(site_env):
    env, db = site_env
    enqueued = run_manage("shell", "-c", ENQUEUE, env=env)
    assert enqueued.returncode == 0, enqueued.stderr
    assert json.loads(enqueued.stdout.strip().splitlines()[-1]) == [
        ["fast", True, False],
        ["slow", True, False],
        ["slow", False, True],  # a second refresh while one waits: not queued
    ]
    workers = []
    try:
        workers.append(start_worker(env))  # the fast lane: the default cluster
        wait_until(lambda: done(db, f"{FAST_TASK}:{MERCHANT}"), workers[-1])
        # The fast worker never takes the slow lane's task: it still waits, its slot held.
        assert not done(db, f"{SLOW_TASK}:{MERCHANT}")
        assert pending(db) == [SLOW_TASK]

        workers.append(start_worker({**env, "Q_CLUSTER_NAME": "evosync-slow"}))
        wait_until(lambda: done(db, f"{SLOW_TASK}:{MERCHANT}"), workers[-1])
        wait_until(lambda: pending(db) == [], workers[-1])
    finally:
        for worker in workers:
            stop(worker)
    again = run_manage("shell", "-c", ENQUEUE, env=env)
    assert json.loads(again.stdout.strip().splitlines()[-1])[1] == ["slow", True, False]
