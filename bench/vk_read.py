"""Benchmark: reading a 10,000-item VK Market from the sandbox, at VK's real 3 requests/second.

    python -m bench vk_read [--items 10000] [--db sqlite|mysql]

The VK sandbox runs in this process on loopback and holds N items (default 10,000) in 20
albums. Two measurements:

1. The client alone (`VkClient.iter_albums` + `iter_items`): API requests counted by the
   client (`requests_made`) and by the sandbox (per token), the most requests the token sent in
   any one second, and the wall time.
2. The whole refresh (`vk_catalog_refresh_for_user`) into a fresh database: the first one
   (every row new) and a second one with nothing changed (no row written).

Budget: VK's `market.get` gives 200 items a call, so 10,000 items are 50 calls; `execute` runs
25 calls in one request, so the read is 1 `market.getAlbums` + 1 `market.get` (which learns the
total) + ceil(49 / 25) = 2 `execute` requests = 4 requests. The script exits non-zero when a
read takes more requests than that, or the token ever exceeds 3 requests in a second.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import machine

GROUP_ID = 200001
TOKEN = "vk-demo-token"
ITEMS_PER_CALL = 200
CALLS_PER_EXECUTE = 25
ALBUMS = 20
MYSQL_DATABASE = "evosync_bench_vk"


def expected_requests(items: int, albums: int = ALBUMS) -> int:
    """getAlbums pages + the first market.get + the executes carrying the other pages."""
    pages = max(1, math.ceil(items / ITEMS_PER_CALL))
    return max(1, math.ceil(albums / 100)) + 1 + math.ceil((pages - 1) / CALLS_PER_EXECUTE)


def _setup_django(db: str) -> str:
    """Django on a database of its own: a temporary SQLite file, or `evosync_bench_vk` on the
    MariaDB at 127.0.0.1:3306 (dropped and recreated)."""
    root = Path(__file__).resolve().parent.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    os.environ["DJANGO_SETTINGS_MODULE"] = "evosync.settings"
    os.environ["DEBUG"] = "true"
    os.environ["LOG_LEVEL"] = "WARNING"
    # The embedded default: the database cache (refresh lock) and the database rate limiter.
    os.environ["REDIS_URL"] = ""
    if db == "mysql":
        import MySQLdb

        server = MySQLdb.connect(host="127.0.0.1", port=3306, user="root")
        cursor = server.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS {MYSQL_DATABASE}")
        cursor.execute(
            f"CREATE DATABASE {MYSQL_DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
        server.close()
        os.environ["DATABASE_URL"] = f"mysql://root@127.0.0.1:3306/{MYSQL_DATABASE}"
    else:
        path = Path(tempfile.mkdtemp(prefix="evosync-bench-")) / "bench.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    # As in a worker: with DEBUG on, Django would keep every statement and its parameters.
    from django.conf import settings

    settings.DEBUG = False
    with connection.cursor() as cursor:
        cursor.execute("SELECT VERSION()" if db == "mysql" else "SELECT sqlite_version()")
        version = cursor.fetchone()[0]
    return f"{'MariaDB' if db == 'mysql' else 'SQLite'} {version}"


def _machine() -> str:
    return machine.describe()


def run(items: int = 10_000, db: str = "sqlite") -> dict:
    database = _setup_django(db)
    from django.conf import settings

    from accounts.models import Status, User
    from connections.models import VkConnection
    from connections.vk_client import VkClient
    from sandbox.server import SandboxServer
    from vk_catalog.models import VkCachedProduct
    from vk_catalog.services import vk_catalog_refresh_for_user

    server = SandboxServer(port=0).start()
    sandbox = server.vk
    settings.VK_API_URL = server.vk_url
    # VK's limit for a user token (docs/contracts/vk-market-api.md §6)
    settings.VK_REQUESTS_PER_SECOND = 3.0
    sandbox.generate_items(GROUP_ID, items, albums=ALBUMS)

    def sent() -> int:
        return len(sandbox.requests_by_token.get(TOKEN, []))

    results: dict = {"items": items, "expected_requests": expected_requests(items)}
    try:
        # 1. The client alone.
        client = VkClient(TOKEN)
        before, started = sent(), time.perf_counter()
        albums = list(client.iter_albums(-GROUP_ID))
        read = list(client.iter_items(-GROUP_ID))
        results["client"] = {
            "seconds": time.perf_counter() - started,
            "albums": len(albums),
            "items": len(read),
            "requests_client": client.requests_made,
            "requests_sandbox": sent() - before,
        }

        # 2. The whole refresh into the database, then again with nothing changed.
        user, _created = User.objects.get_or_create(
            email="bench-vk-read@example.ru", defaults={"status": Status.ACTIVE}
        )
        VkConnection.objects.update_or_create(
            user=user, defaults={"access_token": TOKEN, "group_id": GROUP_ID}
        )
        for label in ("refresh_first", "refresh_unchanged"):
            before, started = sent(), time.perf_counter()
            refresh = vk_catalog_refresh_for_user(user=user)
            results[label] = {
                "seconds": time.perf_counter() - started,
                "status": refresh.status,
                "error": refresh.error,
                "items": refresh.items_seen,
                "written": refresh.created_count + refresh.updated_count,
                "requests_client": refresh.requests_made,
                "requests_sandbox": sent() - before,
            }
        results["cached_items"] = VkCachedProduct.objects.filter(user=user).count()
        results["max_per_second"] = sandbox.max_requests_in_window(TOKEN, 1.0)
        results["calls_by_method"] = dict(sandbox.calls_by_method)
        results["requests_by_method"] = dict(sandbox.requests_by_method)
    finally:
        server.stop()
    results["database"] = database
    results["machine"] = _machine()
    return results


def report(results: dict) -> str:
    lines = [
        f"VK catalog read: {results['items']:,} items, {ALBUMS} albums, sandbox on loopback, "
        f"3 requests/s",
        f"machine: {results['machine']}; database: {results['database']}",
        f"expected requests per read: {results['expected_requests']} (no-execute bound: "
        f"{math.ceil(results['items'] / ITEMS_PER_CALL) + 1})",
        "",
        "| run | items | API requests (client / sandbox) | rows written | wall time |",
        "|---|---|---|---|---|",
    ]
    client = results["client"]
    lines.append(
        f"| client read | {client['items']:,} | {client['requests_client']} / "
        f"{client['requests_sandbox']} | — | {client['seconds']:.2f} s |"
    )
    for label, title in (("refresh_first", "first refresh"), ("refresh_unchanged", "unchanged")):
        run_ = results[label]
        lines.append(
            f"| {title} | {run_['items']:,} | {run_['requests_client']} / "
            f"{run_['requests_sandbox']} | {run_['written']:,} | {run_['seconds']:.2f} s |"
        )
    lines += [
        "",
        f"most requests of the token in any 1 s: {results['max_per_second']}",
        f"requests by method: {results['requests_by_method']}",
        f"API calls by method (inside execute too): {results['calls_by_method']}",
    ]
    return "\n".join(lines)


def check(results: dict) -> list[str]:
    problems = []
    budget = results["expected_requests"]
    for label in ("client", "refresh_first", "refresh_unchanged"):
        run_ = results[label]
        if run_["items"] != results["items"]:
            problems.append(f"{label}: read {run_['items']} items, not {results['items']}")
        if max(run_["requests_client"], run_["requests_sandbox"]) > budget:
            problems.append(f"{label}: {run_['requests_sandbox']} requests, budget {budget}")
    if results["refresh_unchanged"]["written"]:
        problems.append("the unchanged refresh wrote rows")
    if results["max_per_second"] > 3:
        problems.append(f"{results['max_per_second']} requests in one second (limit 3)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench vk_read")
    parser.add_argument("--items", type=int, default=10_000, help="items in the community")
    parser.add_argument("--db", choices=["sqlite", "mysql"], default="sqlite")
    args = parser.parse_args(argv)
    results = run(args.items, args.db)
    print(report(results))
    problems = check(results)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
