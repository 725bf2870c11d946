"""Task lanes: what an enqueue costs (slot + broker), and how many tasks a lane's worker runs.

Makes a SQLite database of its own (migrated), then:

1. sends `--tasks` per-merchant tasks into the fast lane through `evosync.runs.enqueue_task`
   (the pending slot's INSERT, then the broker), timing each and counting its SQL statements;
2. sends them all again: every one is refused by its slot (a task of the kind already waits),
   which is what a periodic fan-out costs for a merchant whose task still waits;
3. starts one real fast-lane worker (`manage.py qcluster`, Q_WORKERS=1) and times it through the
   whole queue; the tasks are `catalog.tasks.read_changes_for_user` for merchants that do not
   exist, so the figure is the queue's own cost per task (dequeue, pre_execute freeing the slot,
   run, save the result), the floor under any real task.

    .venv/bin/python -m bench lanes --tasks 400 [--broker redis --redis-url URL] [--cpu-load 6]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
TASK = "catalog.tasks.read_changes_for_user"


def _env(db_path: Path, redis_url: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "evosync.settings",
        "DEBUG": "true",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": f"sqlite:///{db_path}",
        "REDIS_URL": redis_url,
        "Q_WORKERS": "1",
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench lanes")
    parser.add_argument("--tasks", type=int, default=400, help="at most 500 (results kept)")
    parser.add_argument("--broker", choices=["orm", "redis"], default="orm")
    parser.add_argument(
        "--redis-url", default="", help="with --broker redis; its queues are purged"
    )
    parser.add_argument("--cpu-load", type=int, default=0, help="busy loops during the worker run")
    args = parser.parse_args(argv)
    if args.broker == "redis" and not args.redis_url:
        parser.error("--broker redis needs --redis-url")
    tasks = min(args.tasks, 500)

    db_path = Path(tempfile.mkdtemp(prefix="evosync-bench-lanes-")) / "bench.sqlite3"
    env = _env(db_path, args.redis_url if args.broker == "redis" else "")
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django_q.brokers import get_broker

    from bench.cpuload import cpu_load
    from bench.machine import describe
    from evosync.models import PendingTask
    from evosync.queues import FAST, lane_cluster
    from evosync.runs import enqueue_task

    call_command("migrate", verbosity=0)
    broker = get_broker(lane_cluster(FAST))
    broker.purge_queue()
    statements = []

    def count(execute, *args):
        statements.append(1)
        return execute(*args)

    def send_all() -> tuple[float, int, int]:
        statements.clear()
        started = time.perf_counter()
        with connection.execute_wrapper(count):
            sent = sum(enqueue_task(TASK, n, user_id=n).sent for n in range(1, tasks + 1))
        return time.perf_counter() - started, sent, len(statements)

    first, sent, first_sql = send_all()
    again, sent_again, again_sql = send_all()

    from django_q.models import Task

    worker_env = {**os.environ, **env, "PATH": os.environ.get("PATH", "")}
    with cpu_load(args.cpu_load, max_seconds=600):
        load_before = os.getloadavg()
        started = time.perf_counter()
        worker = subprocess.Popen(
            [sys.executable, str(BASE_DIR / "manage.py"), "qcluster"],
            cwd=BASE_DIR,
            env=worker_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            first_done = None
            while Task.objects.count() < tasks:
                if first_done is None and Task.objects.exists():
                    first_done = time.perf_counter()
                if worker.poll() is not None or time.perf_counter() - started > 600:
                    print("the worker stopped or took over 600 s", file=sys.stderr)
                    return 1
                time.sleep(0.2)
            finished = time.perf_counter()
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
        load_after = os.getloadavg()
    slots_left = PendingTask.objects.count()

    steady = finished - (first_done or started)
    print(f"machine: {describe()}; broker: {args.broker}; busy loops: {args.cpu_load}")
    print(f"load average (1, 5, 15 min): {load_before} -> {load_after}")
    print("| step | tasks | sent | seconds | ms per task | SQL statements per task |")
    print("|---|---|---|---|---|---|")
    print(
        f"| enqueue (slot + broker) | {tasks} | {sent} | {first:.2f} | "
        f"{1000 * first / tasks:.1f} | {first_sql / tasks:.1f} |"
    )
    print(
        f"| enqueue again, all pending | {tasks} | {sent_again} | {again:.2f} | "
        f"{1000 * again / tasks:.1f} | {again_sql / tasks:.1f} |"
    )
    print(
        f"| one fast worker runs them | {tasks} | — | {steady:.2f} (after the first; "
        f"{finished - started:.2f} with start-up) | {1000 * steady / max(1, tasks - 1):.1f} | — |"
    )
    print(f"pending slots left after the run: {slots_left}")
    return 0 if sent == tasks and sent_again == 0 and slots_left == 0 else 1
