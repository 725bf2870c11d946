"""The full first publish of `python -m bench publish --via-cluster`: through the real task path.

The benchmark queues the run as the "Publish" button does (`sync_run_start`), and a real
slow-lane worker (`Q_CLUSTER_NAME=evosync-slow manage.py qcluster`, the ORM broker on the
benchmark's SQLite file, DEBUG off, the settings' `max_rss` and timeouts) executes its chunks
(sync/publish/chunked.py), each task queueing the next. With `--kill-after-chunk K` the whole
cluster (sentinel, pusher, monitor, worker) is SIGKILLed the moment the task of chunk K returns
in the worker (django-q2's `post_execute_in_worker`, before the monitor acknowledges it): the
run is paused, queued, with its next task in the broker. A new cluster is then started, which
takes that task and carries the run to its end.

This process only reads the run's row (every half second), samples the cluster's memory and
the load average, and checks the result at the end: every product once in the VK sandbox,
every link with its VK item.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.cpuload import load_average

ROOT = Path(__file__).resolve().parent.parent
# FIELD_ENCRYPTION_KEYS' development key (evosync/settings.py): the benchmark's process stores
# the tokens with it (DEBUG on), the worker (DEBUG off) must read them.
DEV_FERNET_KEY = "ZGV2ZWxvcG1lbnQtb25seS1rZXktZm9yLWV2b3N5bmM="
POLL_SECONDS = 0.5
RSS_EVERY = 2.0
LOAD_EVERY = 60.0
BOUND_SECONDS = 4 * 3600  # a safety bound on the wait, never a measured expectation


def secret_key() -> str:
    """A key for the benchmark's process and its workers alike: django-q2 signs every task with
    SECRET_KEY, and a worker drops a task it cannot verify."""
    return secrets.token_urlsafe(50)


def cluster_env(env: dict, workdir: Path) -> dict:
    """The slow-lane worker's environment: the benchmark's database, sandboxes and SECRET_KEY,
    DEBUG off as in production (so it needs the secrets production needs)."""
    return {
        **os.environ,
        **env,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "FIELD_ENCRYPTION_KEYS": DEV_FERNET_KEY,
        "Q_CLUSTER_NAME": "evosync-slow",
        "BENCH_KILL_MARK": str(workdir / "killed-after-chunk"),
    }


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # a killed one not yet reaped is gone
            pids.append(int(entry.name))
    return pids


def _memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of `pid` in kB, (0, 0) if it is gone."""
    rss = hwm = 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


class Cluster:
    """One slow-lane `qcluster` in its own process group, its memory sampled."""

    def __init__(self, env: dict, log: Path, *, kill_after_chunk: int | None = None):
        command = [sys.executable, "manage.py", "qcluster"]
        if kill_after_chunk:
            command = [sys.executable, "-m", "bench.publish_cluster", str(kill_after_chunk)]
        self.log = log
        self.started = time.monotonic()
        output = open(log, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
        self.peak_hwm_kb = 0  # the largest peak resident size of any one process of the cluster
        self.peak_total_kb = 0  # the largest sum of the resident sizes of its processes at once
        self.pids: set[int] = set()

    def sample(self) -> None:
        total = 0
        for pid in _group_pids(self.process.pid):
            self.pids.add(pid)
            rss, hwm = _memory_kb(pid)
            total += rss
            self.peak_hwm_kb = max(self.peak_hwm_kb, hwm, rss)
        self.peak_total_kb = max(self.peak_total_kb, total)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def figures(self) -> dict:
        return {
            "exit_code": self.process.returncode,
            "processes_seen": len(self.pids),
            "peak_rss_mb_one_process": round(self.peak_hwm_kb / 1024, 1),
            "peak_rss_mb_cluster": round(self.peak_total_kb / 1024, 1),
            "log": str(self.log),
        }


def _broker_rows() -> list[dict]:
    """The slow lane's tasks in the ORM broker: name and whether a worker holds them."""
    from django.utils import timezone
    from django_q.models import OrmQ

    now = timezone.now()
    return [
        {"name": row.name(), "locked": bool(row.lock and row.lock > now)}
        for row in OrmQ.objects.filter(key="evosync-slow").order_by("id")
    ]


def _row(run_id: int) -> dict:
    from sync.models import SyncRun

    run = SyncRun.objects.get(pk=run_id)
    return {
        "status": run.status,
        "done": run.done,
        "total": run.total,
        "created": run.created,
        "requests": run.vk_requests,
        "chunks": int((run.plan_summary or {}).get("chunks", 0)),
    }


def _verify(sandbox, user, group_id: int) -> dict:
    """Every product once in VK and every link with its item."""
    from sync.models import ItemLink

    items = sandbox.control("vk", "items", group_id=group_id)
    skus = [item.get("sku") for item in items]
    ids = {item["id"] for item in items}
    links = list(ItemLink.objects.filter(user=user).values_list("vk_item_id", "state", "sku"))
    link_ids = [vk_id for vk_id, _state, _sku in links]
    return {
        "vk_items": len(items),
        "vk_items_removed": sum(1 for item in items if item.get("removed")),
        "vk_distinct_skus": len(set(skus)),
        "vk_duplicate_skus": len(skus) - len(set(skus)),
        "links": len(links),
        "links_without_vk_item": sum(1 for vk_id in link_ids if not vk_id),
        "link_states": dict(Counter(state for _id, state, _sku in links)),
        "links_to_missing_items": sum(1 for vk_id in link_ids if vk_id and vk_id not in ids),
        "vk_items_without_link": len(ids - set(link_ids)),
        "links_sharing_an_item": len(link_ids) - len(set(link_ids)),
    }


def publish_via_cluster(
    sandbox, user, *, env: dict, workdir: Path, group_id: int, kill_after_chunk: int | None
) -> dict:
    """Queue `user`'s first publish, let real slow-lane clusters run it to its end."""
    from django.db import connection

    from sync.lifecycle import sync_run_start
    from sync.models import SyncRun

    child = cluster_env(env, workdir)
    mark = Path(child["BENCH_KILL_MARK"])
    before = sandbox.control("vk", "stats")
    refused_before = sandbox.control("vk", "refused", token="vk-demo-token")
    clusters = [Cluster(child, workdir / "cluster-1.log", kill_after_chunk=kill_after_chunk)]
    time.sleep(3)  # the cluster up before the task, as a deployment's worker is
    started = time.monotonic()
    run = sync_run_start(user=user)
    events: list[dict] = []  # what the run's row did, when (seconds from the click)
    loads = [{"at": 0, "load": load_average()}]
    last = {"status": "queued", "chunks": 0}
    kill: dict = {}
    next_rss = next_load = next_print = 0.0
    try:
        while True:
            now = time.monotonic()
            elapsed = now - started
            assert elapsed < BOUND_SECONDS, "the run did not end within the safety bound"
            row = _row(run.pk)
            connection.close()  # no transaction left open on the SQLite file
            if (row["status"], row["chunks"]) != (last["status"], last["chunks"]):
                events.append({"at": round(elapsed, 1), **row})
                print(f"  [cluster] {elapsed:.0f}s {row}", flush=True)
                last = row
            if row["status"] not in ("queued", "planning", "running"):
                wall = elapsed
                break
            cluster = clusters[-1]
            if now >= next_rss:
                cluster.sample()
                next_rss = now + RSS_EVERY
            if now >= next_load:
                loads.append({"at": round(elapsed), "load": load_average()})
                next_load = now + LOAD_EVERY
            if now >= next_print:
                print(
                    f"  [cluster] {row['done']}/{row['total']} · {row['requests']} requests · "
                    f"chunk {row['chunks'] + 1} · {elapsed:.0f}s · load {load_average()}",
                    flush=True,
                )
                next_print = now + 30
            if not cluster.alive():
                if kill or not mark.exists():
                    raise RuntimeError(f"the cluster stopped: see {cluster.log}")
                # Killed by its own worker as chunk K's task returned (see `_die_after_chunk`).
                killed_at = float(mark.read_text())
                kill = {
                    "after_chunk": kill_after_chunk,
                    "at": round(killed_at - time.time() + elapsed, 1),
                    "row_then": row,
                    "broker_then": _broker_rows(),
                }
                for _ in range(50):  # SIGKILL is delivered; wait until every process is gone
                    if not _group_pids(cluster.process.pid):
                        break
                    time.sleep(0.1)
                kill["processes_left"] = len(_group_pids(cluster.process.pid))
                connection.close()
                print(f"  [cluster] killed: {kill}", flush=True)
                time.sleep(5)  # the operator (or the supervisor) starts it again
                clusters.append(Cluster(child, workdir / "cluster-2.log"))
                kill["restarted_at"] = round(time.monotonic() - started, 1)
            time.sleep(POLL_SECONDS)
    finally:
        for cluster in clusters:
            cluster.sample()
            cluster.stop()
    loads.append({"at": round(wall), "load": load_average()})
    run = SyncRun.objects.get(pk=run.pk)
    after = sandbox.control("vk", "stats")
    requests = sum(after["requests_by_method"].values()) - sum(
        before["requests_by_method"].values()
    )
    calls = {
        method: after["calls_by_method"].get(method, 0) - before["calls_by_method"].get(method, 0)
        for method in sorted(after["calls_by_method"])
        if after["calls_by_method"].get(method, 0) - before["calls_by_method"].get(method, 0)
    }
    # A chunk ends when the run's row counts it (the next task may have taken the row already).
    ends = [
        event["at"]
        for previous, event in zip([{"chunks": 0}, *events], events, strict=False)
        if event["chunks"] > previous["chunks"]
    ] + [round(wall, 1)]
    chunk_walls = [round(end - start, 1) for start, end in zip([0.0, *ends], ends, strict=False)]
    return {
        "label": "via cluster",
        "status": run.status,
        "error": run.error,
        "created": run.created,
        "updated": run.updated,
        "failed": run.failed,
        "skipped": run.skipped,
        "albums": len(sandbox.control("vk", "albums", group_id=group_id)),
        "client_requests": run.vk_requests,
        "refused_with_error_6": sandbox.control("vk", "refused", token="vk-demo-token")
        - refused_before,
        "run_vk_rate_refusals": run.vk_rate_refusals,
        "sandbox_requests": requests,
        "calls": calls,
        "wall_seconds": round(wall, 1),
        "chunks": len(chunk_walls),  # tasks; the run's own `chunks` counts the pauses between
        "chunk_wall_seconds": chunk_walls,
        "events": events,
        "kill": kill,
        "clusters": [cluster.figures() for cluster in clusters],
        "load_average_samples": loads,
        "check": _verify(sandbox, user, group_id),
    }


def _die_after_chunk(chunk: int):
    """A `post_execute_in_worker` receiver: SIGKILL the whole cluster when the task that just
    returned left its run paused after `chunk` chunks (queued, its next task in the broker)."""

    def receiver(sender, func=None, task=None, **kwargs):
        from django.db import connection

        from sync.models import SyncRun

        args = (task or {}).get("args") or ()
        if (task or {}).get("func") != "sync.tasks.sync_user" or len(args) < 3:
            return
        run = SyncRun.objects.filter(pk=args[2]).first()
        connection.close()
        if run is None or run.status != "queued":
            return
        if int((run.plan_summary or {}).get("chunks", 0)) != chunk:
            return
        Path(os.environ["BENCH_KILL_MARK"]).write_text(str(time.time()))
        os.killpg(os.getpgrp(), signal.SIGKILL)

    return receiver


def _worker(argv: list[str]) -> None:
    """`python -m bench.publish_cluster K`: `manage.py qcluster`, killed after chunk K."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django_q.signals import post_execute_in_worker

    # Forked, the worker processes keep the receiver (django-q2 forks on Linux).
    post_execute_in_worker.connect(_die_after_chunk(int(argv[0])), weak=False)
    call_command("qcluster")


if __name__ == "__main__":
    _worker(sys.argv[1:])
