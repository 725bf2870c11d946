"""Benchmark: planning cost of a published catalog, whole and targeted (issue 10 item 4).

    python -m bench planning [--products 10000 100000] [--cpu-load 6]

For each size, a temporary SQLite database holds one merchant with that many products already
published (links written as a publish leaves them, so nothing differs from VK), and measures,
without touching VK:

1. whole plan, first no-change cycle (`load_inputs` + `plan_from_inputs`: every item computed),
   then the stamping a whole run does (`sync.plan.skip.stamp_unchanged`);
2. whole plan, next no-change cycle (stamped: unchanged products are skipped);
3. targeted plan of 1 changed product (`load_changed_inputs` + `plan_changed`);
4. the same whole plan as a run builds it (`survey_catalog` + `plan_in_chunks` within the run's
   budget, `SYNC_RUN_CHUNK_ITEMS` items: sync/plan/chunk_plan.py), unstamped, without writing
   the stamps;
5. a first publish: a second merchant with the same catalog and nothing published, planned
   whole (`load_inputs` + `plan_from_inputs`, every product an item to create) and as a run's
   first chunk plans it.

For each: wall and CPU seconds (median of `--repeat`), SQL statements, and the peak of Python
memory allocated during the step (tracemalloc, measured in a separate pass, since tracing slows
the code down, with statements not logged as in production). `--cpu-load N` runs N busy-loop
processes (bench.cpuload) during the timed passes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench.cpuload import cpu_load, load_average
from bench.machine import describe

ROOT = Path(__file__).resolve().parent.parent
GROUPS = 50


def _setup(database: str) -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "evosync.settings",
            "DEBUG": "true",
            "DATABASE_URL": f"sqlite:///{database}",
            "REDIS_URL": "",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _seed(products: int, *, publish: bool = True):
    """One merchant with `products` products in `GROUPS` groups, published (or not yet)."""
    from django.utils import timezone

    from accounts.models import User
    from catalog.filters import sync_filter_set
    from catalog.models import CachedGroup, CachedProduct, CachedStore, SyncFilter
    from catalog.refresh import content_hash
    from sync.models import AlbumLink, ItemLink, LinkState
    from sync.plan.inputs import load_inputs, plan_from_inputs, sync_settings_get
    from sync.plan.photos import EvotorImage

    now = timezone.now()
    email = f"bench{products}{'' if publish else '-new'}@example.ru"
    user = User.objects.create_user(email=email, password="x" * 12)
    store = CachedStore.objects.create(
        user=user, evotor_id="store-1", name="Магазин", first_seen_at=now, last_seen_at=now
    )
    sync_filter_set(
        user=user, entity_type=SyncFilter.EntityType.STORE, entity_id="store-1", enabled=True
    )
    settings_obj = sync_settings_get(user)
    settings_obj.vk_category_id = 40099
    settings_obj.first_published_at = now if publish else None
    settings_obj.save()
    CachedGroup.objects.bulk_create(
        [
            CachedGroup(
                user=user,
                store=store,
                store_evotor_id="store-1",
                evotor_id=f"g{g}",
                name=f"Группа товаров {g}",
                content_hash=f"g{g}",
                first_seen_at=now,
                last_seen_at=now,
            )
            for g in range(GROUPS)
        ]
    )
    rows = []
    for i in range(products):
        raw = {"id": f"p{i}", "name": f"Товар номер {i} в упаковке", "price": 100 + i % 900}
        rows.append(
            CachedProduct(
                user=user,
                store=store,
                store_evotor_id="store-1",
                evotor_id=f"p{i}",
                parent_evotor_id=f"g{i % GROUPS}",
                name=raw["name"],
                price=raw["price"],
                quantity=10,
                measure_name="шт",
                description=f"Описание товара номер {i}: состав, размер, условия хранения.",
                article_number=f"ART-{i:07d}",
                barcodes=[f"46{i:011d}"],
                content_hash=content_hash(raw),
                raw=raw,
                first_seen_at=now,
                last_seen_at=now,
            )
        )
    CachedProduct.objects.bulk_create(rows, batch_size=2000)
    del rows
    AlbumLink.objects.bulk_create(
        [
            AlbumLink(
                user=user,
                store_id="store-1",
                group_id=f"g{g}",
                vk_album_id=1000 + g,
                title=f"Группа товаров {g}",
            )
            for g in range(GROUPS)
        ]
    )
    if not publish:
        return user
    plan = plan_from_inputs(load_inputs(user))
    links = []
    for n, item in enumerate(plan.items):
        fields = {key: value for key, value in item.send_fields.items()}
        links.append(
            ItemLink(
                user=user,
                store_id=item.store_id,
                product_id=item.product_id,
                product_name=item.product_name,
                vk_item_id=10_000_000 + n,
                sku=item.sku,
                state=LinkState.PUBLISHED,
                album_ids=[1000 + int(item.desired.album_group_id[1:])],
                published_fields={**fields, "hidden": not item.desired.visible},
                photo_hash="",
                source_hash=item.desired.source_hash,
                evotor_image=EvotorImage.NONE,
                published_at=now,
            )
        )
    ItemLink.objects.bulk_create(links, batch_size=2000)
    return user


def _measure(step, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    walls, cpus = [], []
    # The log keeps 9,000 statements: once full (seeding 100k products), a capture counts 0.
    connection.queries_log.clear()
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            wall, cpu = time.perf_counter(), time.process_time()
            result = step()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    # Statements are not logged in the memory pass, as in production (DEBUG off): the debug
    # log keeps up to 9,000 statements with their SQL, which is not the planner's memory.
    with override_settings(DEBUG=False):
        tracemalloc.start()
        step()
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "wall_s": round(statistics.median(walls), 3),
        "cpu_s": round(statistics.median(cpus), 3),
        "statements": len(queries),
        "peak_mb": round(peak / 1e6, 1),
        "result": result,
    }


def _bench_size(products: int, *, repeat: int, cpu: int) -> dict:
    from catalog.models import CachedProduct, DirtyProduct
    from sync.plan.chunk_plan import plan_in_chunks, survey_catalog
    from sync.plan.inputs import load_inputs, plan_from_inputs
    from sync.plan.item_budget import ItemBudget
    from sync.plan.skip import stamp_unchanged
    from sync.plan.targeted import load_changed_inputs, plan_changed, published_count
    from sync.publish.chunked import chunk_items

    started = time.perf_counter()
    user = _seed(products)
    print(f"  seeded {products} products in {time.perf_counter() - started:.0f} s", flush=True)

    def whole(user=user):
        inputs = load_inputs(user)
        plan = plan_from_inputs(inputs)
        return inputs, plan

    def run_chunk(user=user):
        survey = survey_catalog(user)
        plan, _links = plan_in_chunks(survey, budget=ItemBudget(chunk_items()), stamp=False)
        return survey, plan

    def chunk_figures(measured: dict) -> dict:
        survey, plan = measured.pop("result")
        measured["items_planned"] = plan.total
        measured["items_held"] = len(plan.items)
        measured["computed"] = len(survey.computed)
        return measured

    figures = {}
    with cpu_load(cpu, max_seconds=3600):
        first = _measure(lambda: whole(), repeat)
        inputs, plan = first.pop("result")
        first["items_planned"] = len(plan.items)
        first["computed"] = len(inputs.products)
        figures["whole, unstamped"] = first
        figures["whole, unstamped, as a run chunk"] = chunk_figures(_measure(run_chunk, repeat))
        stamp_started = time.perf_counter()
        figures["stamping (once)"] = {
            "wall_s": round(time.perf_counter() - stamp_started, 3),
            "links_written": stamp_unchanged(inputs, plan),
        }
        figures["stamping (once)"]["wall_s"] = round(time.perf_counter() - stamp_started, 3)
        del inputs, plan
        second = _measure(lambda: whole(), repeat)
        inputs, plan = second.pop("result")
        second["items_planned"] = len(plan.items)
        second["computed"] = len(inputs.products)
        figures["whole, stamped (no change)"] = second
        del inputs, plan

        product = CachedProduct.objects.get(user=user, evotor_id="p7")
        raw = {**product.raw, "price": 777}
        CachedProduct.objects.filter(pk=product.pk).update(
            price=777, raw=raw, content_hash="changed"
        )
        DirtyProduct.objects.create(
            user=user,
            store_evotor_id="store-1",
            product_evotor_id="p7",
            changed_at=product.last_seen_at,
        )

        def targeted():
            inputs = load_changed_inputs(user, {("store-1", "p7")})
            return plan_changed(inputs, published=lambda: published_count(user))

        third = _measure(targeted, repeat)
        plan = third.pop("result")
        third["items_planned"] = len(plan.items)
        figures["targeted, 1 change"] = third

    newcomer = _seed(products, publish=False)
    with cpu_load(cpu, max_seconds=3600):
        fresh = _measure(lambda: whole(newcomer), repeat)
        inputs, plan = fresh.pop("result")
        fresh["items_planned"] = len(plan.items)
        fresh["computed"] = len(inputs.products)
        figures["first publish, whole plan"] = fresh
        del inputs, plan
        figures["first publish, as a run chunk"] = chunk_figures(
            _measure(lambda: run_chunk(newcomer), repeat)
        )
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench planning", description=__doc__)
    parser.add_argument("--products", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cpu-load", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"machine: {describe()}")
    print(f"cpu load: {args.cpu_load} busy loops")
    with tempfile.TemporaryDirectory() as tmp:
        _setup(str(Path(tmp) / "bench.sqlite3"))
        for products in args.products:
            print(f"{products} products:", flush=True)
            figures = _bench_size(products, repeat=args.repeat, cpu=args.cpu_load)
            for step, values in figures.items():
                shown = ", ".join(f"{k}={v}" for k, v in values.items())
                print(f"  {step}: {shown}", flush=True)
            print(f"  load average: {load_average()}", flush=True)
    return 0
