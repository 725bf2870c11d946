"""Benchmark: a first publish of 10,000 Evotor products to VK at VK's real 3 requests/second.

    python -m bench publish [--products 10000] [--sample 300] [--rps 3] [--skip-naive]
                            [--skip-full] [--skip-preview] [--runs 3] [--cpu-load 6]
                            [--chunk-items 2500] [--via-cluster [--kill-after-chunk 2]]

Both sandboxes run in a child process (`manage.py run_sandbox`) on loopback, so the emulators
never compete with the publisher for this process's interpreter; the publisher works on a
temporary SQLite database, with the database rate limiter, as a worker would.

Phases (docs/benchmarks.md, "Publishing"):
1. sample: a generated store of `--sample` products published twice from scratch into two
   communities, once the EvoSync way (`execute`) and once the naive way (one API request per
   call, as most existing integrations do), both at `--rps`;
2. full: `--products` products published the EvoSync way at `--rps`: VK requests (counted by the
   client and by the sandbox), API calls per method, the most requests the token sent in any
   second, wall time against requests / rps;
3. re-sync with nothing changed: VK write calls (must be 0);
4. 100 price changes at the till, refresh, sync: write requests (must be ≤ 4);
5. preview: a first preview of 200 new products with no photo but Evotor's (no default photo),
   so the preview reads Evotor's image list for each (sync.plan.preview._peek_evotor_images), once at
   the sandbox's own speed and once with every image look-up slowed to 0.2 s (a slow Evotor):
   Evotor requests, wall time, and what the preview then says (must be within the look-up's
   time budget plus 2 s, and say which products have no photo).

`--runs K` repeats the full first publish K times, each into a new empty community (the same
request count every time is a target); the re-sync and price phases follow the first.
`--via-cluster` runs the full first publish through the real task path instead of in this
process: queued as the Publish button does, executed chunk after chunk by a real slow-lane
`qcluster` (bench/publish_cluster.py); `--kill-after-chunk K` SIGKILLs that cluster as chunk K's
task returns and starts a new one, which must finish the run. It then checks every product is in
VK once and every link has its item, and reports the worker's peak memory and the load average
over the run; the re-sync and price phases are left out.
`--cpu-load N` runs N busy-loop processes (bench.cpuload) during the full phase, started and
stopped by the benchmark (issue 11: 6 on this 2-core machine reproduce a loaded host).

The reference for N products with G albums is ceil(N/20) + 1 + ceil(G/25) requests (bulk photo
uploads of 5, 4 groups a request; docs/benchmarks.md derives it); the script prints it and the
ratio. The script exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.cpuload import cpu_load, load_average
from bench.publish_cluster import publish_via_cluster, secret_key

ROOT = Path(__file__).resolve().parent.parent
VK_TOKEN = "vk-demo-token"
MAIN_GROUP = 200001
NAIVE_GROUP = 300001
SAMPLE_GROUP = 300002
PREVIEW_GROUP = 300003
PREVIEW_PRODUCTS = 200
SLOW_EVOTOR_SECONDS = 0.2
CATEGORY = 40099
WRITE_PREFIXES = ("add", "edit", "delete", "restore", "remove", "save")


class _Refusals(logging.Handler):
    """Counts the requests VK (the sandbox) refused with error 6, as the client logs them."""

    count = 0

    def emit(self, record):
        if getattr(record, "code", None) == 6:
            _Refusals.count += 1


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux /proc), 0 if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sandbox:
    """The sandboxes in a child process, driven through their `/_control` endpoints."""

    def __init__(self, env: dict):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run_sandbox", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(Path(env["SANDBOX_LOG"]), "wb"),  # noqa: SIM115
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the sandbox did not start")

    def control(self, app: str, action: str, **body):
        request = urllib.request.Request(
            f"{self.base}/{app}/_control/{action}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=600) as response:
            answer = json.loads(response.read() or b"{}")
        return answer.get("result", answer)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the sandboxes' process has used so far."""
        return process_cpu_seconds(self.process.pid)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def _setup(env_overrides: dict) -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.update(env_overrides)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def _merchant(email: str, *, evotor_token: str, group_id: int, store_id: str):
    from accounts.models import User
    from catalog.filters import sync_filter_set
    from catalog.models import SyncFilter
    from connections.models import EvotorConnection, VkConnection
    from sync.plan.inputs import sync_settings_get

    user = User.objects.create_user(email=email, password="Bench-Password-1", status="active")
    EvotorConnection.objects.create(user=user, cloud_token=evotor_token)
    VkConnection.objects.create(user=user, access_token=VK_TOKEN, group_id=group_id)
    settings_obj = sync_settings_get(user)
    settings_obj.vk_category_id = CATEGORY
    settings_obj.save()
    sync_filter_set(
        user=user, entity_type=SyncFilter.EntityType.STORE, entity_id=store_id, enabled=True
    )
    return user


def _calls_delta(before: dict, after: dict) -> dict:
    return {
        method: after.get(method, 0) - before.get(method, 0)
        for method in sorted(set(after) | set(before))
        if after.get(method, 0) - before.get(method, 0)
    }


def _writes(calls: dict) -> int:
    return sum(
        count
        for method, count in calls.items()
        if method.startswith("market.") and method.split(".")[1].startswith(WRITE_PREFIXES)
    )


def minimum_requests(products: int, albums: int) -> int:
    """⌈N/20⌉ requests of 4 photo groups (a saveProductPhotoBulk + 5 market.add, 24 calls; the
    25th carries an addToAlbum), 1 for the last memberships (or the first upload URL), and
    ⌈G/25⌉ of market.addAlbum (docs/benchmarks.md)."""
    return math.ceil(products / 20) + 1 + math.ceil(albums / 25)


def _publish(sandbox: Sandbox, user, *, naive: bool, label: str) -> dict:
    from django.utils import timezone

    from sync.lifecycle import sync_run_create
    from sync.models import AlbumLink
    from sync.publish.run import sync_run_execute_to_end

    before = sandbox.control("vk", "stats")
    refusals_before = _Refusals.count
    sandbox_cpu = sandbox_cpu_started = sandbox.cpu_seconds()
    cpu_started = time.process_time()
    started = time.monotonic()
    last = [0.0]
    planned: list[tuple[float, float]] = []  # (wall, this process's CPU) when the plan was made
    # (wall, client requests) at the last answer of the main publish: progress is reported
    # after each of its requests, not after those of the extra-photo step that follows it.
    applied = [(0.0, 0)]
    applied_cpu = [(0.0, 0.0)]  # (this process's CPU, the sandboxes' CPU) at that moment
    paused: list[float] = []  # wall when each chunk but the last ended (SYNC_RUN_CHUNK_ITEMS)

    def progress(run):
        now = time.monotonic()
        if not planned and run.status == "running":
            planned.append((now, time.process_time()))
        if run.status == "running":
            applied[0] = (now, run.vk_requests)
            applied_cpu[0] = (time.process_time(), sandbox.cpu_seconds())
        if run.status == "queued":
            paused.append(now)
            print(f"  [{label}] chunk {len(paused)} done: {run.done}/{run.total}", flush=True)
        if now - last[0] > 15:
            last[0] = now
            print(
                f"  [{label}] {run.done}/{run.total} · {run.vk_requests} requests · "
                f"{now - started:.0f}s",
                flush=True,
            )

    run = sync_run_create(user=user, trigger="manual")
    run = sync_run_execute_to_end(run=run, naive=naive, progress=progress)
    wall = time.monotonic() - started
    ends = [*paused, time.monotonic()]
    starts = [started, *paused]
    chunk_walls = [round(end - start, 1) for start, end in zip(starts, ends, strict=True)]
    cpu = time.process_time() - cpu_started
    sandbox_cpu = sandbox.cpu_seconds() - sandbox_cpu
    plan_wall, plan_cpu = planned[0] if planned else (time.monotonic(), time.process_time())
    plan_wall -= started
    plan_cpu -= cpu_started
    main_wall, main_requests = applied[0]
    main_wall = max(0.0, main_wall - started)
    main_cpu = applied_cpu[0][0] - cpu_started - plan_cpu
    main_sandbox_cpu = applied_cpu[0][1] - sandbox_cpu_started
    photos = run.created + run.updated
    after = sandbox.control("vk", "stats")
    requests = sum(after["requests_by_method"].values()) - sum(
        before["requests_by_method"].values()
    )
    calls = _calls_delta(before["calls_by_method"], after["calls_by_method"])
    albums = AlbumLink.objects.filter(user=user).values("vk_album_id").distinct().count()
    return {
        "label": label,
        "status": run.status,
        "error": run.error,
        "created": run.created,
        "updated": run.updated,
        "failed": run.failed,
        "skipped": run.skipped,
        "albums": albums,
        "client_requests": run.vk_requests,
        "refused_with_error_6": _Refusals.count - refusals_before,
        "run_vk_rate_refusals": run.vk_rate_refusals,
        "sandbox_requests": requests,
        "calls": calls,
        "wall_seconds": round(wall, 1),
        "chunks": len(chunk_walls),
        "chunk_wall_seconds": chunk_walls,
        # Where the time and the CPU went: planning (before the first request of the items),
        # then applying; CPU of this process (the publisher, all its threads) and of the
        # sandboxes' process (VK's and Evotor's work, which the real services do elsewhere).
        "plan_seconds": round(plan_wall, 1),
        "apply_seconds": round(wall - plan_wall, 1),
        "items_per_second_applying": round(photos / max(0.001, wall - plan_wall), 1),
        # The main publish (planning included) and the step after it that sends the extra
        # photos (sync/publish/extra_photos.py): wall and client requests of each.
        "main_publish_seconds": round(main_wall, 1),
        "main_publish_requests": main_requests,
        "after_main_seconds": round(wall - main_wall, 1),
        "after_main_requests": run.vk_requests - main_requests,
        "main_publish_cpu_ms_per_item": {
            "publisher": round(1000 * main_cpu / max(1, photos), 2),
            "sandbox": round(1000 * main_sandbox_cpu / max(1, photos), 2),
        },
        "publisher_cpu_seconds": round(cpu, 1),
        "publisher_plan_cpu_seconds": round(plan_cpu, 1),
        "publisher_cpu_ms_per_item": round(1000 * (cpu - plan_cpu) / max(1, photos), 2),
        "sandbox_cpu_seconds": round(sandbox_cpu, 1),
        "sandbox_cpu_ms_per_item": round(1000 * sandbox_cpu / max(1, photos), 2),
        "run_seconds": round((run.finished_at - run.started_at).total_seconds(), 1)
        if run.finished_at
        else None,
        "at": timezone.now().isoformat(),
    }


def _preview_phase(sandbox: Sandbox) -> dict:
    """A first preview of PREVIEW_PRODUCTS new products whose only photo is Evotor's."""
    from django.conf import settings

    from catalog.services import catalog_refresh_for_user
    from sync.plan.photos import PREVIEW_LOOKUP_SECONDS
    from sync.plan.preview import sync_run_preview

    print(f"preview: {PREVIEW_PRODUCTS} new products, photos only in Evotor", flush=True)
    (store,) = sandbox.control(
        "evotor", "generate", products=PREVIEW_PRODUCTS, stores=1, user_id="01-BENCH-PREVIEW"
    )
    sandbox.control("evotor", "add_token", token="bench-preview", user_id="01-BENCH-PREVIEW")
    sandbox.control("vk", "add_group", group_id=PREVIEW_GROUP, name="preview", admins=[1001])
    user = _merchant(
        "preview@bench.local", evotor_token="bench-preview", group_id=PREVIEW_GROUP, store_id=store
    )
    assert catalog_refresh_for_user(user=user).ok
    site_default, settings.VK_DEFAULT_PHOTO_PATH = settings.VK_DEFAULT_PHOTO_PATH, ""
    out = {}
    try:
        for label, delay in (("sandbox speed", None), ("slow Evotor", SLOW_EVOTOR_SECONDS)):
            if delay:
                sandbox.control(
                    "evotor", "fail", mode="slow", delay=delay, path=f"/stores/{store}/products"
                )
            before = sandbox.control("evotor", "stats")["requests_by_kind"].get("images", 0)
            started = time.monotonic()
            plan = sync_run_preview(user=user)
            wall = time.monotonic() - started
            sandbox.control("evotor", "clear_failures")
            after = sandbox.control("evotor", "stats")["requests_by_kind"].get("images", 0)
            counts = plan.counts
            out[label] = {
                "evotor_image_requests": after - before,
                "wall_seconds": round(wall, 2),
                "create": counts["create"],
                "skipped_no_photo": sum("no_photo" in i.flags for i in plan.flagged),
                "photo_unchecked": counts["photo_unchecked"],
                "ok": wall <= PREVIEW_LOOKUP_SECONDS + 2
                and counts["create"] + counts["skipped"] == PREVIEW_PRODUCTS,
            }
    finally:
        settings.VK_DEFAULT_PHOTO_PATH = site_default
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench publish", description=__doc__)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=300)
    parser.add_argument("--rps", type=float, default=3.0)
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--skip-preview", action="store_true")
    parser.add_argument(
        "--margin",
        type=float,
        default=None,
        help="the rate limiter's safety margin (default: settings.VK_RATE_LIMIT_MARGIN)",
    )
    parser.add_argument("--runs", type=int, default=1, help="full first publishes to make")
    parser.add_argument(
        "--photos",
        type=int,
        default=None,
        help="Evotor pictures of every product in the full phase (default: the generated mix, "
        "a third with a picture); more than 1 publishes extra photos (photo_ids)",
    )
    parser.add_argument(
        "--cpu-load", type=int, default=0, help="busy-loop processes during the full phase"
    )
    parser.add_argument(
        "--chunk-items",
        type=int,
        default=None,
        help="items a run applies per task (SYNC_RUN_CHUNK_ITEMS; default: the setting's)",
    )
    parser.add_argument(
        "--via-cluster",
        action="store_true",
        help="run the full publish in a real slow-lane qcluster (bench/publish_cluster.py)",
    )
    parser.add_argument(
        "--kill-after-chunk",
        type=int,
        default=None,
        help="with --via-cluster: SIGKILL the cluster as chunk K's task returns, start another",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.kill_after_chunk is not None and not args.via_cluster:
        parser.error("--kill-after-chunk needs --via-cluster")
    # Terminated, the benchmark still stops its busy loops and the sandbox (the `finally`s).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    workdir = Path(tempfile.mkdtemp(prefix="evosync-bench-publish-"))
    photo = workdir / "default.png"
    from PIL import Image

    Image.new("RGB", (600, 600), (235, 226, 210)).save(photo, "PNG")
    env = {
        "DJANGO_SETTINGS_MODULE": "evosync.settings",
        "DEBUG": "true",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": "",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "VK_DEFAULT_PHOTO_PATH": str(photo),
        "VK_REQUESTS_PER_SECOND": str(args.rps),
    }
    if args.via_cluster:
        env["SECRET_KEY"] = secret_key()
    child_env = {
        **os.environ,
        **env,
        "DATABASE_URL": f"sqlite:///{workdir / 'sandbox.sqlite3'}",
        "SANDBOX_LOG": str(workdir / "sandbox.log"),
    }
    sandbox = Sandbox(child_env)
    env["EVOTOR_API_URL"] = f"{sandbox.base}/evotor"
    env["VK_API_URL"] = f"{sandbox.base}/vk/method"
    _setup(env)
    from django.conf import settings

    from catalog.services import catalog_refresh_for_user

    # DEBUG=true is needed to start without production secrets, but with it Django keeps every
    # statement with its parameters (bench/catalog_refresh.py): a worker publishes with DEBUG
    # off, and so does the measurement.
    settings.DEBUG = False
    if args.margin is None:
        args.margin = float(settings.VK_RATE_LIMIT_MARGIN)
    settings.VK_RATE_LIMIT_MARGIN = args.margin
    if args.chunk_items is not None:
        settings.SYNC_RUN_CHUNK_ITEMS = args.chunk_items
        env["SYNC_RUN_CHUNK_ITEMS"] = str(args.chunk_items)
    env["VK_RATE_LIMIT_MARGIN"] = str(args.margin)

    logging.getLogger("connections.vk_client").addHandler(_Refusals(level=logging.WARNING))

    results: dict = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average_before": load_average(),
        "cpu_load": args.cpu_load,
        "rps": args.rps,
        "limiter_margin": args.margin,
    }
    ok = True
    try:
        sandbox.control("vk", "set_rate_limit", n=args.rps)
        for group_id, name in ((NAIVE_GROUP, "naive"), (SAMPLE_GROUP, "sample")):
            sandbox.control("vk", "add_group", group_id=group_id, name=name, admins=[1001])

        if not args.skip_naive:
            print(f"sample: {args.sample} products, execute vs one request per call", flush=True)
            (store,) = sandbox.control(
                "evotor", "generate", products=args.sample, stores=1, user_id="01-BENCH-SAMPLE"
            )
            sandbox.control("evotor", "add_token", token="bench-sample", user_id="01-BENCH-SAMPLE")
            sample_users = [
                _merchant(
                    "sample@bench.local",
                    evotor_token="bench-sample",
                    group_id=SAMPLE_GROUP,
                    store_id=store,
                ),
                _merchant(
                    "naive@bench.local",
                    evotor_token="bench-sample",
                    group_id=NAIVE_GROUP,
                    store_id=store,
                ),
            ]
            for user in sample_users:
                catalog_refresh_for_user(user=user)
            results["sample_execute"] = _publish(
                sandbox, sample_users[0], naive=False, label="sample execute"
            )
            print(json.dumps(results["sample_execute"], ensure_ascii=False), flush=True)
            results["sample_naive"] = _publish(
                sandbox, sample_users[1], naive=True, label="sample naive"
            )
            print(json.dumps(results["sample_naive"], ensure_ascii=False), flush=True)
            e, n = results["sample_execute"], results["sample_naive"]
            results["sample_ratio"] = {
                "requests": round(n["sandbox_requests"] / max(1, e["sandbox_requests"]), 2),
                "time": round(n["wall_seconds"] / max(0.001, e["wall_seconds"]), 2),
            }

        if not args.skip_full:
            print(
                f"full: {args.products} products at {args.rps} requests/s, {args.runs} run(s), "
                f"{args.cpu_load} busy loops",
                flush=True,
            )
            (store,) = sandbox.control(
                "evotor",
                "generate",
                products=args.products,
                stores=1,
                user_id="01-BENCH-FULL",
                photos_per_product=args.photos,
            )
            sandbox.control("evotor", "add_token", token="bench-full", user_id="01-BENCH-FULL")
            runs = []
            users = []
            for number in range(args.runs):
                group_id = MAIN_GROUP if number == 0 else MAIN_GROUP + 1000 + number
                if number:
                    sandbox.control(
                        "vk", "add_group", group_id=group_id, name=f"run {number}", admins=[1001]
                    )
                user = _merchant(
                    f"full{number}@bench.local",
                    evotor_token="bench-full",
                    group_id=group_id,
                    store_id=store,
                )
                users.append(user)
                started = time.monotonic()
                refresh = catalog_refresh_for_user(user=user)
                results["catalog_refresh_seconds"] = round(time.monotonic() - started, 1)
                assert refresh.ok, refresh.error
                # The load runs through the publish only, bounded in case this process dies.
                with cpu_load(args.cpu_load, max_seconds=3600) as loops:
                    loads_before = load_average()
                    if args.via_cluster:
                        full = publish_via_cluster(
                            sandbox,
                            user,
                            env=env,
                            workdir=workdir,
                            group_id=group_id,
                            kill_after_chunk=args.kill_after_chunk,
                        )
                    else:
                        full = _publish(sandbox, user, naive=False, label=f"full {number + 1}")
                    full["load_average_at_end"] = load_average()
                    # What one runnable thread got of the host: the busy loops never wait.
                    loop_cpu = [process_cpu_seconds(loop.pid) for loop in loops]
                if loops:
                    full["cpu_share_of_a_busy_loop"] = round(
                        sum(loop_cpu) / len(loop_cpu) / max(0.001, full["wall_seconds"]), 3
                    )
                full["load_average_at_start"] = loads_before
                full["max_requests_in_a_second"] = sandbox.control(
                    "vk", "max_requests_in_window", token=VK_TOKEN, window=1.0
                )
                full["minimum_requests"] = minimum_requests(args.products, full["albums"])
                full["ratio_to_minimum"] = round(
                    full["sandbox_requests"] / full["minimum_requests"], 3
                )
                full["rate_bound_seconds"] = round(full["sandbox_requests"] / args.rps, 1)
                full["limiter_bound_seconds"] = round(
                    full["sandbox_requests"] * (1 + args.margin) / args.rps, 1
                )
                full["time_ratio"] = round(full["wall_seconds"] / full["rate_bound_seconds"], 3)
                if "main_publish_seconds" in full:  # measured in this process only
                    full["main_publish_time_ratio"] = round(
                        full["main_publish_seconds"]
                        / max(0.001, full["main_publish_requests"] / args.rps),
                        3,
                    )
                runs.append(full)
                print(json.dumps(full, ensure_ascii=False), flush=True)
            results["full"] = runs
            for full in runs:
                ok &= (
                    full["status"] == "succeeded"
                    and full["created"] + full["skipped"] == args.products
                )
                ok &= full["ratio_to_minimum"] <= 1.25 and full["time_ratio"] <= 1.10
                ok &= full["run_vk_rate_refusals"] == 0
            results["same_request_count"] = len({r["sandbox_requests"] for r in runs}) == 1
            ok &= results["same_request_count"]
            if args.via_cluster:
                for full in runs:
                    check = full["check"]
                    ok &= check["vk_items"] == check["vk_distinct_skus"] == check["links"]
                    ok &= check["links_without_vk_item"] == check["vk_items_without_link"] == 0
                    ok &= check["links_to_missing_items"] == check["links_sharing_an_item"] == 0
                    ok &= full["refused_with_error_6"] == 0
                    ok &= not args.kill_after_chunk or bool(full["kill"])
        if not args.skip_full and not args.via_cluster:
            user = users[0]
            stats = sandbox.control("vk", "stats")

            # Nothing changed.
            before = stats
            again = _publish(sandbox, user, naive=False, label="re-sync")
            after = sandbox.control("vk", "stats")
            again["write_calls"] = _writes(
                _calls_delta(before["calls_by_method"], after["calls_by_method"])
            )
            results["resync_unchanged"] = again
            print(json.dumps(again, ensure_ascii=False), flush=True)
            ok &= again["write_calls"] == 0

            # 100 price changes.
            from catalog.models import CachedProduct

            ids = list(
                CachedProduct.objects.filter(user=user)
                .order_by("evotor_id")
                .values_list("evotor_id", "price")[:100]
            )
            for product_id, price in ids:
                sandbox.control(
                    "evotor",
                    "set_product",
                    store_id=store,
                    product_id=product_id,
                    fields={"price": str(price + 7)},
                )
            catalog_refresh_for_user(user=user)
            before = sandbox.control("vk", "stats")
            prices = _publish(sandbox, user, naive=False, label="100 prices")
            after = sandbox.control("vk", "stats")
            calls = _calls_delta(before["calls_by_method"], after["calls_by_method"])
            requests = _calls_delta(before["requests_by_method"], after["requests_by_method"])
            prices["write_calls"] = _writes(calls)
            prices["write_requests"] = requests.get("execute", 0) + _writes(requests)
            results["prices_changed"] = prices
            print(json.dumps(prices, ensure_ascii=False), flush=True)
            ok &= prices["updated"] == 100 and prices["write_requests"] <= 4
        if not args.skip_preview:
            results["preview"] = _preview_phase(sandbox)
            print(json.dumps(results["preview"], ensure_ascii=False), flush=True)
            ok &= all(r["ok"] for r in results["preview"].values())
    finally:
        sandbox.stop()
    if args.json:
        Path(args.json).write_text(
            json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8"
        )
    print(json.dumps(results, ensure_ascii=False, indent=2))
    print("OK" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
