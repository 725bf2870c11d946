"""Freshness: time from a price change at the till to the VK item updated, at scale (issue 10).

    python -m bench freshness [--merchants 1000] [--products 1000] [--rate 100] [--minutes 5]
                              [--intake push pull poll] [--fast-workers 6] [--slow-workers 2]
                              [--poll-extra-workers 7] [--first-publish 10000] [--cpu-load 6]
                              [--redis-url redis://127.0.0.1:6379/15 | --broker orm]
                              [--database-url URL] [--workdir DIR] [--json FILE]

Set up (bench/freshness_setup.py): N merchants × M products already published, one for real
and the others copied directly into the database (one INSERT … SELECT per table and batch of
merchants) and the sandboxes. With `--workdir`, the set-up database is kept there and a later
run with the same merchants, products and database only makes the sandboxes again. Then, for
each intake path asked for, a phase:

* real processes: the sandboxes (`manage.py run_sandbox`), the site (gunicorn, which receives
  Evotor's pushes), the fast lane (`manage.py qcluster`, `--fast-workers`) and the slow lane
  (`Q_CLUSTER_NAME=evosync-slow manage.py qcluster`, `--slow-workers`), with
  `EVOTOR_INTAKE=<path>` and the schedules of `manage.py setup_schedules`;
* `--rate` price changes a minute for `--minutes`, each at a random merchant and product,
  through the Evotor sandbox's control API (`set_product`: the sandbox records the event for
  the events API and, in the push phase, pushes it signed to the site);
* per change, the time from just before the change to the VK sandbox's `market.edit` that
  gave the item the new price (the sandbox's edit log, `edits`): p50, p95, max; changes that
  never arrived (within `--drain` seconds after the last) are counted apart.

Beside the times: VK and Evotor requests, tasks run per function, and each lane's load: the
seconds its tasks ran (django-q2's task rows) over its workers × the phase's seconds.
`poll` gets `--poll-extra-workers` more fast workers (docs/operations.md).

`--first-publish N` adds a last phase, with the first intake asked for, during which a new
merchant of N products (read beforehand) is published for the first time in the slow lane: the
others' times with it, and how far the first publish got.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from bench.cpuload import cpu_load, load_average
from bench.freshness_setup import (
    evotor_user_id,
    group_id,
    product_id,
    store_id,
)
from bench.machine import describe
from bench.publish import Sandbox, _free_port

ROOT = Path(__file__).resolve().parent.parent
PUSH_SECRET = "fresh-bench-push-secret-0123456789abcdef"
APP_ID = "fresh-bench-app"
PUBLISHER_TOKEN = "fresh-bench-publisher"


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


class Processes:
    """The site and the two lanes' clusters, started and stopped by the benchmark."""

    def __init__(self, env: dict, workdir: Path):
        self.env = env
        self.workdir = workdir
        self.running: list[subprocess.Popen] = []

    def start(self, name: str, args: list[str], **extra) -> subprocess.Popen:
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**self.env, **{k: str(v) for k, v in extra.items()}},
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / f"{name}.log", "ab"),  # noqa: SIM115
            start_new_session=True,
        )
        self.running.append(process)
        return process

    def stop(self) -> None:
        for process in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.running.clear()


class EditWatch:
    """Matches the VK sandbox's edits to the changes made: a change has arrived when its item
    got its price or the price of a later change of the same product."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.position = sandbox.control("vk", "edits", start=0)["next"]
        self.lock = threading.Lock()
        self.pending: dict[tuple[int, int], list[tuple[int, float, int]]] = {}
        self.latencies: dict[int, float] = {}
        self.made = 0

    def expect(self, number: int, key: tuple[int, int], at: float, kopecks: int) -> None:
        with self.lock:
            self.pending.setdefault(key, []).append((number, at, kopecks))
            self.made += 1

    def poll(self) -> None:
        answer = self.sandbox.control("vk", "edits", start=self.position)
        self.position = answer["next"]
        with self.lock:
            for at, group, item, kopecks in answer["edits"]:
                waiting = self.pending.get((group, item))
                if not waiting:
                    continue
                matched = [n for n, (_num, _t, k) in enumerate(waiting) if k == kopecks]
                if not matched:
                    continue
                upto = matched[-1]
                for number, made_at, _k in waiting[: upto + 1]:
                    self.latencies[number] = max(0.0, at - made_at)
                del waiting[: upto + 1]

    def outstanding(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.pending.values())


def _task_rows(since: datetime, seen: dict) -> None:
    """django-q2's rows of the tasks done since `since` (read every few seconds: it keeps only
    the last `save_limit` successes); their `started` is when the task was queued."""
    from django_q.models import Task

    for row in Task.objects.filter(stopped__gte=since).values("id", "started"):
        seen[row["id"]] = row


def _lane_figures(task_log: Path, queued: dict, *, start: float, end: float, workers: dict) -> dict:
    """Per lane: the seconds its tasks ran within [start, end] (bench/task_clock.py's record),
    over workers × (end − start); per task function: count, mean run and queue-wait seconds."""
    from django.conf import settings

    latest: dict[str, list] = {}
    if task_log.exists():
        for line in task_log.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row[4] is not None or row[0] not in latest:
                latest[row[0]] = row
    rows = []
    for row in latest.values():
        task_id, func, cluster, ran_from, ran_until = row[:5]
        cpu = row[5] if len(row) > 5 else None
        # Still running when read: it ran until now.
        ran_until = time.time() if ran_until is None else ran_until
        if ran_from is not None and ran_until >= start:
            rows.append((task_id, func, cluster, ran_from, ran_until, cpu))
    wall = end - start
    out = {}
    for lane, cluster in (("fast", settings.Q_FAST_CLUSTER), ("slow", settings.Q_SLOW_CLUSTER)):
        busy, by_func = 0.0, {}
        for task_id, func, task_cluster, ran_from, ran_until, cpu in rows:
            if task_cluster != cluster:
                continue
            busy += max(0.0, min(ran_until, end) - max(ran_from, start))
            name = func.rsplit(".", 1)[-1]
            entry = by_func.setdefault(
                name, {"tasks": 0, "run_seconds": 0.0, "cpu_seconds": 0.0, "waits": []}
            )
            entry["tasks"] += 1
            entry["run_seconds"] += ran_until - ran_from
            entry["cpu_seconds"] += cpu or 0.0
            row = queued.get(task_id)
            if row is not None:
                entry["waits"].append(max(0.0, ran_from - row["started"].timestamp()))
        for entry in by_func.values():
            entry["mean_run_seconds"] = round(entry["run_seconds"] / max(1, entry["tasks"]), 3)
            entry["mean_cpu_seconds"] = round(entry["cpu_seconds"] / max(1, entry["tasks"]), 3)
            entry["run_seconds"] = round(entry["run_seconds"], 1)
            entry["cpu_seconds"] = round(entry["cpu_seconds"], 1)
            waits = entry.pop("waits")
            entry["mean_queue_wait_seconds"] = round(statistics.fmean(waits), 2) if waits else None
        out[lane] = {
            "workers": workers[lane],
            "busy_worker_seconds": round(busy, 1),
            "available_worker_seconds": round(workers[lane] * wall, 1),
            "load": round(busy / max(0.001, workers[lane] * wall), 3),
            "tasks": by_func,
        }
    return out


def _counts(before: dict, after: dict) -> dict:
    return {
        k: after.get(k, 0) - before.get(k, 0)
        for k in sorted(set(after) | set(before))
        if after.get(k, 0) - before.get(k, 0)
    }


def run_phase(ctx, *, intake: str, first_publish_user=None) -> dict:
    """One intake path: start the processes, make the changes, wait, measure."""
    from django.utils import timezone

    args = ctx.args
    sandbox, procs = ctx.sandbox, ctx.procs
    fast_workers = args.fast_workers + (args.poll_extra_workers if intake == "poll" else 0)
    workers = {"fast": fast_workers, "slow": args.slow_workers}
    label = intake + (" + first publish" if first_publish_user else "")
    print(f"phase {label}: {fast_workers} fast, {args.slow_workers} slow workers", flush=True)
    if intake == "push":
        sandbox.control("evotor", "configure_push", url=ctx.push_url, secret=PUSH_SECRET)
    else:
        sandbox.control("evotor", "configure_push", url=None)
    python = sys.executable
    task_log = procs.workdir / f"tasks-{ctx.run_number}-{ctx.phase_number}.jsonl"
    lane_env = {"EVOTOR_INTAKE": intake, "Q_WORKERS": fast_workers, "BENCH_TASK_LOG": task_log}
    procs.start(f"fast-{label}", [python, "-m", "bench.task_clock"], **lane_env)
    procs.start(
        f"slow-{label}",
        [python, "-m", "bench.task_clock"],
        **lane_env,
        Q_CLUSTER_NAME="evosync-slow",
        Q_SLOW_WORKERS=args.slow_workers,
    )
    time.sleep(args.warmup)
    watch = EditWatch(sandbox)
    vk_before = sandbox.control("vk", "stats")
    evotor_before = sandbox.control("evotor", "stats")["requests_by_kind"]
    load_start = load_average()
    if first_publish_user is not None:
        from sync.lifecycle import sync_run_request

        first_run, _started = sync_run_request(user=first_publish_user, trigger="manual")
    start = timezone.now()
    started = time.monotonic()
    start_epoch = time.time()
    total = int(args.rate * args.minutes)
    rng = random.Random(f"{args.seed}-{intake}-{bool(first_publish_user)}")
    tasks: dict = {}
    errors: list[str] = []

    def change(number: int, k: int, position: int, item_id: int) -> None:
        # A price no earlier change of this run or of an earlier run on the same database gave.
        rubles = 10_000 + (10 * ctx.run_number + ctx.phase_number) * 1_000 + number % 1_000
        made_at = time.time()
        watch.expect(number, (group_id(k), item_id), made_at, rubles * 100)
        try:
            sandbox.control(
                "evotor",
                "set_product",
                store_id=store_id(k),
                product_id=product_id(k, position),
                fields={"price": str(rubles)},
            )
        except Exception as exc:  # counted and shown: the run goes on
            errors.append(f"{type(exc).__name__}: {exc}")

    next_tasks_read = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for number in range(total):
            due = started + number * 60.0 / args.rate
            while time.monotonic() < due:
                watch.poll()
                if time.monotonic() >= next_tasks_read:
                    _task_rows(start, tasks)
                    next_tasks_read = time.monotonic() + 5
                time.sleep(min(0.5, max(0.0, due - time.monotonic())))
            position, item_id = ctx.products[rng.randrange(len(ctx.products))]
            pool.submit(change, number, rng.randrange(args.merchants), position, item_id)
    end_epoch = time.time()
    changes_seconds = time.monotonic() - started
    load_end = load_average()
    drain_until = time.monotonic() + args.drain
    while time.monotonic() < drain_until and (watch.outstanding() or len(watch.latencies) < total):
        watch.poll()
        if time.monotonic() >= next_tasks_read:
            _task_rows(start, tasks)
            next_tasks_read = time.monotonic() + 5
        time.sleep(0.5)
    watch.poll()
    _task_rows(start, tasks)
    vk_after = sandbox.control("vk", "stats")
    evotor_after = sandbox.control("evotor", "stats")["requests_by_kind"]
    first = None
    if first_publish_user is not None:
        from sync.models import SyncRun

        run = SyncRun.objects.get(pk=first_run.pk)
        first = {
            "status": run.status,
            "done": run.done,
            "total": run.total,
            "vk_requests": run.vk_requests,
            "seconds_so_far": round(
                ((run.finished_at or timezone.now()) - (run.started_at or start)).total_seconds(),
                1,
            ),
        }
    procs.stop()
    latencies = list(watch.latencies.values())
    vk_requests = _counts(vk_before["requests_by_method"], vk_after["requests_by_method"])
    vk_calls = _counts(vk_before["calls_by_method"], vk_after["calls_by_method"])
    evotor = _counts(evotor_before, evotor_after)
    result = {
        "phase": label,
        "changes_made": total,
        "change_errors": len(errors),
        "change_error_sample": errors[:3],
        "changes_arrived": len(latencies),
        "changes_missing": total - len(latencies),
        "p50_seconds": _percentile(latencies, 0.50),
        "p95_seconds": _percentile(latencies, 0.95),
        "max_seconds": round(max(latencies), 2) if latencies else None,
        "mean_seconds": round(statistics.fmean(latencies), 2) if latencies else None,
        "changes_seconds": round(changes_seconds, 1),
        "load_average_start": load_start,
        "load_average_end_of_changes": load_end,
        "vk_requests": sum(vk_requests.values()),
        "vk_requests_by_method": vk_requests,
        "vk_calls_by_method": vk_calls,
        "evotor_requests": sum(evotor.values()),
        "evotor_requests_by_kind": evotor,
        "evotor_requests_per_minute": round(sum(evotor.values()) * 60 / changes_seconds, 1),
        "lanes": _lane_figures(task_log, tasks, start=start_epoch, end=end_epoch, workers=workers),
    }
    if first is not None:
        result["first_publish"] = first
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return result


class Context:
    pass


def _environment(args, workdir: Path) -> dict:
    from PIL import Image

    photo = workdir / "default.png"
    Image.new("RGB", (600, 600), (235, 226, 210)).save(photo, "PNG")
    database = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    return {
        "DJANGO_SETTINGS_MODULE": "evosync.settings",
        "DEBUG": "true",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": database,
        "REDIS_URL": args.redis_url if args.broker == "redis" else "",
        "MEDIA_ROOT": str(workdir / "media"),
        "VK_DEFAULT_PHOTO_PATH": str(photo),
        "VK_REQUESTS_PER_SECOND": "3",
        "EVOTOR_APP_ID": APP_ID,
        "EVOTOR_PUBLISHER_TOKEN": PUBLISHER_TOKEN,
        "EVOTOR_PUSH_SECRET": PUSH_SECRET,
        "Q_SLOW_WORKERS": str(args.slow_workers),
        "Q_WORKERS": str(args.fast_workers),
    }


def _django(env: dict) -> None:
    os.environ.update({**env, "VK_REQUESTS_PER_SECOND": "1000"})
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _schedules_and_broker(args) -> None:
    """The schedules of `setup_schedules`, the hourly and slower ones moved an interval ahead
    (in a running deployment they are not all due at the start), and an empty broker."""
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone
    from django_q.models import Schedule

    call_command("setup_schedules", verbosity=0)
    for schedule in Schedule.objects.filter(minutes__gte=60):
        schedule.next_run = timezone.now() + timedelta(minutes=schedule.minutes)
        schedule.save(update_fields=["next_run"])
    if args.broker == "redis":
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()


def _first_publish_merchant(ctx, run_number: int):
    """A new merchant of --first-publish products, read but not published; one per run (the
    earlier runs' ones are removed first: their communities are gone with their sandbox)."""
    from accounts.models import User
    from bench import freshness_setup as fs
    from catalog.services import catalog_refresh_for_user

    args = ctx.args
    User.objects.filter(email__startswith="first", email__endswith="@fresh.bench").delete()
    k = args.merchants + 1 + run_number
    if k > 0xFFFF:
        raise RuntimeError("too many runs in this --workdir for a first publish: set up again")
    user = fs.merchant_create(
        ctx.sandbox, k, products=args.first_publish, email=f"first{run_number}@fresh.bench"
    )
    refresh = catalog_refresh_for_user(user=user)
    if not refresh.ok:
        raise RuntimeError(f"the first-publish merchant's refresh failed: {refresh.error}")
    return user


def _setup(ctx, env: dict, state_file: Path) -> dict:
    """Database, sandboxes, merchants; returns the setup's figures.

    The database is kept in --workdir with what its sandboxes need (`setup.json`: the
    template's VK community and its published products): a later run with the same workdir,
    merchants and products only makes the sandboxes again (seconds), not the database."""
    from bench import freshness_setup as fs

    args = ctx.args
    started = time.monotonic()
    key = {
        "merchants": args.merchants,
        "products": args.products,
        "database": env["DATABASE_URL"],
    }
    state = json.loads(state_file.read_text()) if state_file.exists() else None
    reuse = state is not None and state["key"] == key
    if not reuse:
        state_file.unlink(missing_ok=True)
        if env["DATABASE_URL"].startswith("sqlite:///"):
            database = Path(env["DATABASE_URL"].removeprefix("sqlite:///"))
            for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
                path.unlink(missing_ok=True)
    _django(env)
    from django.core.management import call_command
    from django.db import connection

    from catalog.models import CachedProduct
    from sync.models import ItemLink

    if not reuse and connection.vendor == "mysql":
        # Set up again from nothing: the database given is the benchmark's own.
        import MySQLdb

        given = connection.settings_dict
        server = MySQLdb.connect(
            host=given["HOST"] or "127.0.0.1",
            port=int(given["PORT"] or 3306),
            user=given["USER"],
            password=given["PASSWORD"],
        )
        with server.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{given['NAME']}`")
            cursor.execute(f"CREATE DATABASE `{given['NAME']}` CHARACTER SET utf8mb4")
        server.close()
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    ctx.sandbox.control("vk", "set_rate_limit", n=1000)
    if reuse:
        state["runs"] += 1
        print(f"  reusing the set-up database (run {state['runs']} on it)", flush=True)
        sandbox_seconds = fs.sandbox_copies(
            ctx.sandbox,
            range(args.merchants),
            products=args.products,
            template_group=state["template_group"],
        )
        figures = {**state["figures"], "reused": True, "sandbox_seconds": round(sandbox_seconds, 1)}
    else:
        template = fs.template_publish(ctx.sandbox, products=args.products)
        template_seconds = time.monotonic() - started
        print(f"  template published in {template_seconds:.0f} s", flush=True)
        template_group = ctx.sandbox.control("vk", "export_group", group_id=fs.group_id(0))
        sandbox_seconds = fs.sandbox_copies(
            ctx.sandbox,
            range(1, args.merchants),
            products=args.products,
            template_group=template_group,
        )
        print(f"  sandboxes made in {sandbox_seconds:.0f} s", flush=True)
        copies = fs.clone_merchants(template, merchants=args.merchants)
        figures = {
            "seconds": round(time.monotonic() - started, 1),
            "template_seconds": round(template_seconds, 1),
            "sandbox_seconds": round(sandbox_seconds, 1),
            "copy": copies,
            "load_average_after_setup": load_average(),
        }
        state = {
            "key": key,
            "runs": 1,
            "template_group": template_group,
            "products": fs.published_products(template),
            "figures": figures,
        }
    ctx.products = [tuple(pair) for pair in state["products"]]
    ctx.run_number = state["runs"]
    _schedules_and_broker(args)
    ctx.first_user = _first_publish_merchant(ctx, state["runs"]) if args.first_publish else None
    ctx.sandbox.control("vk", "set_rate_limit", n=3)
    state_file.write_text(json.dumps(state, ensure_ascii=False))
    return {
        **figures,
        "this_run_seconds": round(time.monotonic() - started, 1),
        "merchants": args.merchants,
        "products_per_merchant": args.products,
        "products_published_per_merchant": len(ctx.products),
        "cached_products": CachedProduct.objects.count(),
        "item_links": ItemLink.objects.count(),
        "evotor_user_id_of_merchant_0": evotor_user_id(0),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench freshness", description=__doc__)
    parser.add_argument("--merchants", type=int, default=1000)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100, help="changes a minute")
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument(
        "--intake", nargs="+", choices=["push", "pull", "poll"], default=["push", "pull", "poll"]
    )
    parser.add_argument("--fast-workers", type=int, default=6)
    parser.add_argument("--slow-workers", type=int, default=2)
    parser.add_argument("--poll-extra-workers", type=int, default=7)
    parser.add_argument("--first-publish", type=int, default=0, help="products (0: no phase)")
    parser.add_argument("--cpu-load", type=int, default=0, help="busy loops during the phases")
    parser.add_argument("--broker", choices=["redis", "orm"], default="redis")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--database-url", default="", help="default: a SQLite file of its own")
    parser.add_argument("--drain", type=float, default=180, help="seconds to wait after the last")
    parser.add_argument("--warmup", type=float, default=8, help="seconds for workers to start")
    parser.add_argument("--seed", default="fresh")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--workdir",
        help="keep the database and logs here; a later run with the same workdir, merchants,"
        " products and --database-url reuses the set-up database (default: a new temporary one)",
    )
    args = parser.parse_args(argv)
    if args.merchants < 1 or args.products < 1 or args.rate <= 0 or args.minutes <= 0:
        parser.error("--merchants, --products, --rate and --minutes must be positive")
    if args.merchants + 2 > 0xFFFF:
        parser.error("at most 65,533 merchants (generated store numbers are 4 hex digits)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    if args.workdir:
        workdir = Path(args.workdir).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="evosync-bench-freshness-"))
    env = _environment(args, workdir)
    base_env = {**os.environ, **env}
    ctx = Context()
    ctx.args = args
    ctx.sandbox = Sandbox(
        {
            **base_env,
            "SANDBOX_LOG": str(workdir / "sandbox.log"),
            "DATABASE_URL": f"sqlite:///{workdir / 'sandbox.sqlite3'}",
        }
    )
    env["EVOTOR_API_URL"] = f"{ctx.sandbox.base}/evotor"
    env["VK_API_URL"] = f"{ctx.sandbox.base}/vk/method"
    web_port = _free_port()
    ctx.push_url = f"http://127.0.0.1:{web_port}/evotor/events"
    ctx.procs = Processes({**os.environ, **env}, workdir)
    results: dict = {
        "command": "python -m bench freshness " + " ".join(argv),
        "machine": describe(),
        "cpu_load": args.cpu_load,
        "load_average_before": load_average(),
        "workdir": str(workdir),
    }
    web = None
    try:
        print(f"setup: {args.merchants} merchants × {args.products} products", flush=True)
        results["setup"] = _setup(ctx, env, workdir / "setup.json")
        print(json.dumps(results["setup"], ensure_ascii=False), flush=True)
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "gunicorn.conf.py",
                "evosync.wsgi:application",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                **env,
                "EVOTOR_INTAKE": "push",
                "GUNICORN_BIND": f"127.0.0.1:{web_port}",
                "WEB_CONCURRENCY": "2",
                "GUNICORN_THREADS": "4",
            },
            stdout=subprocess.DEVNULL,
            stderr=open(workdir / "web.log", "ab"),  # noqa: SIM115
            start_new_session=True,
        )
        phases = [(intake, None) for intake in args.intake]
        if ctx.first_user is not None:
            phases.append((args.intake[0], ctx.first_user))
        results["phases"] = []
        with cpu_load(args.cpu_load, max_seconds=len(phases) * (args.minutes * 60 + 600)):
            for number, (intake, first_user) in enumerate(phases):
                ctx.phase_number = number
                results["phases"].append(
                    run_phase(ctx, intake=intake, first_publish_user=first_user)
                )
    finally:
        ctx.procs.stop()
        if web is not None:
            os.killpg(web.pid, signal.SIGTERM)
            web.wait(timeout=30)
        ctx.sandbox.stop()
    results["load_average_after"] = load_average()
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str))
    print(json.dumps(results, ensure_ascii=False, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
