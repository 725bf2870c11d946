"""Benchmark: noticing edits made in VK after a VK catalog read, for 10,000 published items.

    python -m bench vk_edits [--items 10000] [--edited 100] [--db sqlite|mysql] [--load 0]

What runs after every successful VK catalog read (`sync.vk_edits.item_links_note_vk_edits`,
connected to `vk_catalog_refresh_finished`): each published item's link is compared with the
cached VK item. The database is filled directly (N links, N cached items as EvoSync published
them, one album), so only the comparison is measured, three times:

1. nothing edited in VK (what follows every publish): no row may be written;
2. `--edited` items edited in VK (description, every 3rd also the name): one UPDATE each;
3. the same again (the edits are already recorded): no row may be written.

Statements are counted with a connection `execute_wrapper`. `--load N` runs N busy-loop
processes meanwhile (bench/cpuload.py). Exits non-zero when a step writes more rows than said.
"""

from __future__ import annotations

import argparse
import sys
import time
from decimal import Decimal

from bench import machine
from bench.vk_read import _setup_django

GROUP_ID = 200001


class _Counter:
    def __init__(self):
        self.statements = 0
        self.writes = 0

    def __call__(self, execute, sql, params, many, context):
        self.statements += 1
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            self.writes += 1
        return execute(sql, params, many, context)


def _fill(user, items: int) -> None:
    from sync.models import AlbumLink, ItemLink, LinkState
    from vk_catalog.models import VkCachedProduct

    AlbumLink.objects.create(user=user, store_id="s", group_id="g", vk_album_id=1, title="A")
    links, cached = [], []
    for n in range(1, items + 1):
        fields = {
            "name": f"Товар номер {n}",
            "description": f"Описание товара номер {n} для проверки.",
            "price": str(100 + n % 900),
            "old_price": None,
            "category_id": 40099,
            "sku": f"SKU-{n:06d}",
            "hidden": False,
        }
        links.append(
            ItemLink(
                user=user,
                store_id="s",
                product_id=f"p{n}",
                product_name=fields["name"],
                vk_item_id=n,
                sku=fields["sku"],
                state=LinkState.PUBLISHED,
                album_ids=[1],
                published_fields=fields,
                photo_hash=f"h{n}",
                vk_photo_id=100_000 + n,
            )
        )
        cached.append(
            VkCachedProduct(
                user=user,
                vk_id=n,
                owner_id=-GROUP_ID,
                title=fields["name"],
                description=fields["description"],
                price=Decimal(fields["price"]),
                sku=fields["sku"],
                album_ids=[1],
                photo_ids=[100_000 + n],
                main_photo_id=100_000 + n,
                category_id=40099,
                content_hash=str(n),
            )
        )
    ItemLink.objects.bulk_create(links, batch_size=500)
    VkCachedProduct.objects.bulk_create(cached, batch_size=500)


def _step(user, label: str) -> dict:
    from django.db import connection
    from django.utils import timezone

    from sync.vk_edits import item_links_note_vk_edits

    counter = _Counter()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        changed = item_links_note_vk_edits(user=user, read_started_at=timezone.now())
    return {
        "step": label,
        "seconds": time.perf_counter() - started,
        "links_changed": changed,
        "statements": counter.statements,
        "writes": counter.writes,
    }


def run(items: int = 10_000, edited: int = 100, db: str = "sqlite", load: int = 0) -> dict:
    from bench.cpuload import cpu_load

    database = _setup_django(db)
    from accounts.models import Status, User
    from vk_catalog.models import VkCachedProduct

    user = User.objects.create(email="bench-vk-edits@example.ru", status=Status.ACTIVE)
    _fill(user, items)
    steps = []
    with cpu_load(load, max_seconds=600):
        steps.append(_step(user, "nothing edited"))
        for n in range(1, edited + 1):
            changes = {"description": f"Описание, отполированное во ВКонтакте, {n}."}
            if n % 3 == 0:
                changes["title"] = f"Товар из ВКонтакте {n}"
            VkCachedProduct.objects.filter(user=user, vk_id=n * (items // edited)).update(**changes)
        steps.append(_step(user, f"{edited} edited"))
        steps.append(_step(user, "the same again"))
    return {
        "items": items,
        "edited": edited,
        "load": load,
        "database": database,
        "machine": machine.describe(),
        "steps": steps,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench vk_edits", description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--edited", type=int, default=100)
    parser.add_argument("--db", choices=("sqlite", "mysql"), default="sqlite")
    parser.add_argument("--load", type=int, default=0, help="busy-loop processes meanwhile")
    args = parser.parse_args(argv)
    result = run(items=args.items, edited=args.edited, db=args.db, load=args.load)
    print(f"{result['database']} · {result['machine']} · background load {result['load']}")
    print(f"{result['items']} published items")
    for step in result["steps"]:
        print(
            f"  {step['step']:<16} {step['seconds']:.2f} s, {step['statements']} statements, "
            f"{step['writes']} writes, {step['links_changed']} links changed"
        )
    nothing, edited_step, again = result["steps"]
    ok = nothing["writes"] == 0 and again["writes"] == 0
    ok = ok and edited_step["links_changed"] == result["edited"]
    ok = ok and edited_step["writes"] == result["edited"]
    if not ok:
        print("FAILED: a step wrote more (or fewer) rows than it should", file=sys.stderr)
        return 1
    return 0
