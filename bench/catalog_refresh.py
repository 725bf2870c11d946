"""Evotor catalog refresh: queries, wall time, no-change writes and memory at 10^4-10^5 products.

    python -m bench catalog_refresh [--products 10000] [--db sqlite|mysql]
                                    [--memory-sizes 10000,100000] [--skip-memory]

Sets up its own database (a temporary SQLite file, or the `evosync_bench` database on the
MariaDB at 127.0.0.1:3306, recreated), migrates it, starts the sandbox in-process on loopback
with a generated catalog (`EvotorSandbox.generate`) and runs `catalog_refresh_for_user`:

1. first refresh of `--products` products (everything written);
2. the same again with nothing changed (must write no product row);
3. again after 10 products changed at the till (must write those 10 only);
4. peak memory of a first refresh at each of `--memory-sizes` (tracemalloc peak, and the
   growth of the process's peak RSS), to show it does not grow with the catalog.

Statements are counted with a connection execute_wrapper; writes are INSERT/UPDATE/DELETE on
catalog_cachedproduct. Figures and the machine go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import machine

MYSQL_URL = "mysql://root@127.0.0.1:3306/evosync_bench"
PRODUCT_TABLE = "catalog_cachedproduct"


@dataclass
class Counter:
    statements: int = 0
    product_writes: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        verb = sql.lstrip().split(None, 1)[0].upper()
        self.by_kind[verb] = self.by_kind.get(verb, 0) + 1
        if verb in ("INSERT", "UPDATE", "DELETE", "REPLACE") and PRODUCT_TABLE in sql:
            self.product_writes += 1
        return execute(sql, params, many, context)


def _setup_environment(db: str) -> Path | None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "evosync.settings"
    os.environ["DEBUG"] = "true"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["REDIS_URL"] = ""  # the embedded default: database cache for the lock
    if db == "mysql":
        import MySQLdb

        server = MySQLdb.connect(host="127.0.0.1", port=3306, user="root")
        cursor = server.cursor()
        cursor.execute("DROP DATABASE IF EXISTS evosync_bench")
        cursor.execute(
            "CREATE DATABASE evosync_bench CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
        server.close()
        os.environ["DATABASE_URL"] = MYSQL_URL
        return None
    path = Path(tempfile.mkdtemp(prefix="evosync-bench-")) / "bench.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    return path


@contextmanager
def _counting():
    from django.db import connection

    counter = Counter()
    with connection.execute_wrapper(counter):
        yield counter


def _peak_rss_kb() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _machine(db: str) -> dict[str, str]:
    from django.db import connection

    cpu = machine.cpu_model()
    with connection.cursor() as cursor:
        cursor.execute("SELECT VERSION()" if db == "mysql" else "SELECT sqlite_version()")
        version = cursor.fetchone()[0]
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "database": f"{'MariaDB' if db == 'mysql' else 'SQLite'} {version}",
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench catalog_refresh")
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "mysql"], default="sqlite")
    parser.add_argument("--memory-sizes", default="10000,100000")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.memory_sizes.split(",") if size]

    sqlite_path = _setup_environment(args.db)
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.models import User
    from catalog.models import CachedProduct
    from catalog.services import catalog_refresh_for_user
    from connections.models import EvotorConnection
    from sandbox.server import SandboxServer

    call_command("migrate", verbosity=0)
    server = SandboxServer(port=0, seed=False).start()
    from django.conf import settings

    settings.EVOTOR_API_URL = server.evotor_url
    # DEBUG=true is needed to start without production secrets, but with it Django keeps the
    # last 9000 statements with their parameters (~60 kB per product INSERT): a worker runs
    # with DEBUG off, and so does the measurement.
    settings.DEBUG = False
    evotor = server.evotor
    token = "evotor-demo-token"

    def merchant(email: str) -> User:
        user = User.objects.create_user(email=email, password=None, status="active")
        EvotorConnection.objects.create(user=user, cloud_token=token)
        return user

    def run(user, label: str):
        with _counting() as counter:
            started = time.perf_counter()
            result = catalog_refresh_for_user(user=user)
            seconds = time.perf_counter() - started
        if not result.ok:
            raise SystemExit(f"{label}: refresh failed: {result.error}")
        return result, counter, seconds

    rows = []
    host = _machine(args.db)
    print(f"machine: {host}")
    print(f"command: python -m bench catalog_refresh {' '.join(argv)}".rstrip())

    try:
        (store_id,) = evotor.generate(products=args.products, stores=1)
        user = merchant("bench@example.ru")
        chunks = -(-args.products // 1000)

        result, counter, seconds = run(user, "first")
        assert CachedProduct.objects.filter(user=user).count() == args.products
        rows.append(("first refresh", result, counter, seconds))

        result, counter, seconds = run(user, "no change")
        rows.append(("no change", result, counter, seconds))

        step = max(1, args.products // 10)
        for product in evotor.products(store_id)[::step][:10]:
            evotor.set_product(store_id, product["id"], price="1.23")
        result, counter, seconds = run(user, "10 changed")
        rows.append(("10 changed", result, counter, seconds))

        print(f"\n{args.products} products in {chunks} Evotor pages ({host['database']}):")
        print(
            f"{'run':<15} {'seconds':>8} {'statements':>10} {'per page':>9} "
            f"{'product writes':>14} {'rows written':>12}"
        )
        for label, result, counter, seconds in rows:
            print(
                f"{label:<15} {seconds:>8.2f} {counter.statements:>10} "
                f"{counter.statements / chunks:>9.1f} {counter.product_writes:>14} "
                f"{result.products_written:>12}"
            )
            print(f"{'':<15} statements by kind: {dict(sorted(counter.by_kind.items()))}")

        if not args.skip_memory:
            print("\nmemory of a first refresh (tracemalloc peak; growth of peak RSS):")
            for size in sizes:
                evotor.generate(products=size, stores=1)
                user = merchant(f"bench-{size}@example.ru")
                rss_reset = _reset_peak_rss()
                rss_before = _peak_rss_kb()
                tracemalloc.start()
                started = time.perf_counter()
                result = catalog_refresh_for_user(user=user)
                seconds = time.perf_counter() - started
                _current, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                rss_after = _peak_rss_kb()
                assert result.ok and result.products == size, result
                rss = (
                    f"{(rss_after - rss_before) / 1024:.1f} MB"
                    if rss_reset and rss_before and rss_after
                    else "n/a"
                )
                print(
                    f"  {size:>7} products: tracemalloc peak {peak / 2**20:6.1f} MB, "
                    f"peak RSS growth {rss}, {seconds:.1f} s (traced, so slower)"
                )
    finally:
        server.stop()
        if sqlite_path is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
            sqlite_path.parent.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
