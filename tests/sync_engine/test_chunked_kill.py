"""A first publish in chunks survives its worker dying between chunks, for real: the first
chunk runs in a child process that executes the worker's task (`sync.tasks.sync_user`) and is
SIGKILLed the moment the task returns; a real slow-lane worker (`Q_CLUSTER_NAME=evosync-slow
manage.py qcluster`, ORM broker, a SQLite file) started afterwards takes the next chunk's task
from the broker and carries the run to its end, chunk after chunk.

One run, every VK item once, no link lost. (A worker killed inside a chunk is
tests/sync_engine/test_kill.py: the next run recovers from the links.)"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.sync_engine.test_kill import EMAIL, PRODUCTS, ROOT, child_env, manage  # noqa: F401

CHUNK = 25  # 60 products: chunks of 25, 25 and 10
BOUND = 180  # seconds; a safety bound on the child processes, never a measured expectation

FIRST_CHUNK_THEN_DIE = """
import os, signal
from accounts.models import User
from sync.lifecycle import sync_run_create
from sync.tasks import sync_user
user = User.objects.get(email="{email}")
run = sync_run_create(user=user)
sync_user(user.pk, run.trigger, run.pk)
os.kill(os.getpid(), signal.SIGKILL)  # the worker dies between chunks
"""


def run_row(path) -> dict:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        rows = db.execute(
            "SELECT status, created, done, total, plan_summary FROM sync_syncrun ORDER BY id"
        ).fetchall()
    assert len(rows) == 1, rows
    status, created, done, total, summary = rows[0]
    return {
        "status": status,
        "created": created,
        "done": done,
        "total": total,
        "chunks": json.loads(summary or "{}").get("chunks", 0),
    }


def broker_tasks(path) -> list[str]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        return [row[0] for row in db.execute("SELECT key FROM django_q_ormq")]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_between_chunks_loses_nothing_and_a_new_worker_finishes_the_run(
    child_env,  # noqa: F811 (the fixture of test_kill.py)
    vk_sandbox,
):
    env = {**child_env, "SYNC_RUN_CHUNK_ITEMS": str(CHUNK), "Q_SLOW_WORKERS": "1"}
    first = manage(env, "shell", "-c", FIRST_CHUNK_THEN_DIE.format(email=EMAIL), check=False)
    assert first.returncode == -signal.SIGKILL, first.stderr

    # The run waits, queued, with its first chunk published and its next task in the broker.
    row = run_row(env["_DB"])
    assert row == {
        "status": "queued",
        "created": CHUNK,
        "done": CHUNK,
        "total": PRODUCTS,
        "chunks": 1,
    }
    assert len(vk_sandbox.items(200001)) == CHUNK
    assert broker_tasks(env["_DB"]) == ["evosync-slow"]

    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env={**env, "Q_CLUSTER_NAME": "evosync-slow"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + BOUND
        while run_row(env["_DB"])["status"] != "succeeded":
            assert worker.poll() is None, "the worker stopped"
            assert time.monotonic() < deadline, "the run did not finish within the safety bound"
            time.sleep(0.3)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)

    row = run_row(env["_DB"])
    assert row == {
        "status": "succeeded",
        "created": PRODUCTS,
        "done": PRODUCTS,
        "total": PRODUCTS,
        "chunks": 2,
    }
    items = vk_sandbox.items(200001)
    skus = [item["sku"] for item in items]
    assert len(items) == PRODUCTS and len(set(skus)) == PRODUCTS
    with sqlite3.connect(env["_DB"]) as db:
        links = db.execute("SELECT vk_item_id, state FROM sync_itemlink").fetchall()
    assert len(links) == PRODUCTS
    assert all(state == "published" for _vk_id, state in links)
    assert {vk_id for vk_id, _state in links} == {item["id"] for item in items}
