"""Benchmark: the preview page of a large catalog, off the request (issue 10 item 4).

    python -m bench preview [--products 10000 100000] [--cpu-load 6]

For each size, a temporary SQLite database holds one merchant whose catalog is not published yet
(every product a new item: the largest preview there is), and the preview is opened as the
merchant's browser would (Django's test client, the whole middleware stack, the ORM broker):

1. the first visit: the page that queues the slow-lane task and shows its progress;
2. a reload while it waits, and the JSON progress poll;
3. the task itself, taken from the broker as a worker takes it (`sync.tasks.compute_preview`):
   wall and CPU seconds, the process's peak RSS growth, and in a second pass the peak of Python
   memory allocated (tracemalloc, which slows the code down: not timed);
4. the page once ready (the kept result: counts and the first items of each section), and a
   "show all" page deep in the list;
5. what is kept: the result's size in the database.

Request times are the median of `--repeat` visits, wall and CPU (`time.process_time`: SQLite
runs in-process, so its work is included; on a shared host the CPU figure is the comparable
one), with their SQL statement counts.
`--cpu-load N` runs N busy-loop processes (bench.cpuload) during the timed steps.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench.cpuload import cpu_load, load_average
from bench.machine import describe
from bench.planning import _setup


def _seed_unpublished(products: int):
    """`products` products, switched on, category chosen, nothing published yet."""
    from accounts.models import Status
    from bench.planning import _seed
    from sync.models import AlbumLink, ItemLink
    from sync.plan.inputs import sync_settings_get

    user = _seed(products)
    user.status = Status.ACTIVE
    user.save(update_fields=["status"])
    ItemLink.objects.filter(user=user).delete()
    AlbumLink.objects.filter(user=user).delete()
    settings_obj = sync_settings_get(user)
    settings_obj.first_published_at = None
    settings_obj.save()
    return user


def _request(client, url: str, repeat: int, **extra) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    walls, cpus = [], []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started, cpu = time.perf_counter(), time.process_time()
            response = client.get(url, **extra)
            walls.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
        assert response.status_code == 200, (url, response.status_code)
    return {
        "ms": round(1000 * statistics.median(walls), 1),
        "cpu_ms": round(1000 * statistics.median(cpus), 1),
        "statements": len(queries),
        "bytes": len(response.content),
    }


def _work_slow_lane() -> list[dict]:
    """Take the slow lane's waiting tasks from the broker and run them, as a worker does."""
    from pydoc import locate

    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage

    from evosync.queues import SLOW, lane_cluster, release_on_start

    broker = get_broker(lane_cluster(SLOW))
    results = []
    for ack_id, package in broker.dequeue() or []:
        task = SignedPackage.loads(package)
        release_on_start(None, task=task)
        results.append(locate(task["func"])(*task["args"], **task["kwargs"]))
        broker.acknowledge(ack_id)
    return results


def _requeue(user) -> None:
    from sync.models import PlanPreview, PreviewStatus

    PlanPreview.objects.filter(user=user).update(status=PreviewStatus.QUEUED)


def _bench_size(products: int, *, repeat: int, cpu: int) -> dict:
    from django.db.models import Sum
    from django.db.models.functions import Length
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import reverse

    from sync.models import PlanPreview, PlanPreviewChunk
    from sync.preview_jobs import preview_compute, preview_source_key
    from sync.preview_store import CHUNK_ITEMS

    started = time.perf_counter()
    user = _seed_unpublished(products)
    print(f"  seeded {products} products in {time.perf_counter() - started:.0f} s", flush=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    preview_url = reverse("sync:preview")
    figures = {}
    with cpu_load(cpu, max_seconds=3600):
        figures["first visit (queues the task)"] = _request(client, preview_url, 1)
        figures["reload while queued"] = _request(client, preview_url, repeat)
        kept = PlanPreview.objects.get(user=user)
        progress_url = reverse("sync:preview_progress", args=[kept.pk])
        figures["progress poll (JSON)"] = _request(client, progress_url, repeat)
        figures["progress poll (htmx)"] = _request(
            client, progress_url, repeat, HTTP_HX_REQUEST="true"
        )
        key_walls, key_cpus = [], []
        for _ in range(repeat):
            key_started, key_cpu = time.perf_counter(), time.process_time()
            preview_source_key(user)
            key_walls.append(time.perf_counter() - key_started)
            key_cpus.append(time.process_time() - key_cpu)
        figures["source key alone"] = {
            "ms": round(1000 * statistics.median(key_walls), 1),
            "cpu_ms": round(1000 * statistics.median(key_cpus), 1),
        }

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        wall, cpu_time = time.perf_counter(), time.process_time()
        results = _work_slow_lane()
        task = {
            "wall_s": round(time.perf_counter() - wall, 2),
            "cpu_s": round(time.process_time() - cpu_time, 2),
            "peak_rss_growth_mb": round(
                (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024, 1
            ),
            "result": results,
        }
        figures["task"] = task
        figures["ready page"] = _request(client, preview_url, repeat)
        creates = PlanPreviewChunk.objects.filter(preview=kept, section="create").count()
        deep_page = max(1, creates - 1)
        figures[f"show all, page {deep_page} of {creates}"] = _request(
            client, preview_url, repeat, data={"action": "create", "page": deep_page}
        )
        # A sale-like change: the kept result is shown as stale (its banner, the recompute
        # queued) instead of the progress page; the first visit queues, the others reload.
        _catalog_changed(user)
        figures["stale page (result + banner), first visit"] = _request(client, preview_url, 1)
        figures["stale page, reload while recomputed"] = _request(client, preview_url, repeat)
    # Outside the load: tracing is slow and only the allocation peak counts here.
    # Statements are not logged here, as in production (DEBUG off): the debug log would keep
    # the SQL of every insert of kept rows, their pickled items included.
    _requeue(user)
    with override_settings(DEBUG=False):
        tracemalloc.start()
        preview_compute(user=user, preview_id=kept.pk)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    task["python_peak_mb"] = round(peak / 1e6, 1)
    stored = PlanPreviewChunk.objects.filter(preview=kept).aggregate(size=Sum(Length("items")))
    kept.refresh_from_db()
    figures["kept"] = {
        "chunks": PlanPreviewChunk.objects.filter(preview=kept).count(),
        "items_per_chunk": CHUNK_ITEMS,
        "mb": round(((stored["size"] or 0) + len(bytes(kept.summary))) / 1e6, 1),
        "counts": {k: v for k, v in kept_counts(kept).items() if v},
    }
    return figures


def _catalog_changed(user) -> None:
    """What a change read from Evotor leaves in its journal (catalog/changes.py)."""
    from django.utils import timezone

    from catalog.models import CatalogFreshness

    updated = CatalogFreshness.objects.filter(user=user).update(last_change_at=timezone.now())
    if not updated:
        CatalogFreshness.objects.create(user=user, last_change_at=timezone.now())


def kept_counts(kept) -> dict:
    from sync.preview_store import preview_summary

    return preview_summary(kept).counts


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench preview", description=__doc__)
    parser.add_argument("--products", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cpu-load", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"machine: {describe()}")
    print(f"cpu load: {args.cpu_load} busy loops")
    with tempfile.TemporaryDirectory() as tmp:
        _setup(str(Path(tmp) / "bench.sqlite3"))
        from django.conf import settings

        print(f"inline up to {settings.PREVIEW_INLINE_MAX_PRODUCTS} products", flush=True)
        for products in args.products:
            print(f"{products} products:", flush=True)
            figures = _bench_size(products, repeat=args.repeat, cpu=args.cpu_load)
            for step, values in figures.items():
                shown = ", ".join(f"{k}={v}" for k, v in values.items())
                print(f"  {step}: {shown}", flush=True)
            print(f"  load average: {load_average()}", flush=True)
    return 0
