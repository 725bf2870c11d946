"""Benchmark: a first publish of 1,000 products, 300 of them in variant groups, at 3 requests/s.

    python -m bench variants [--products 1000] [--grouped 300] [--per-group 3] [--photos 2]
                             [--rps 3] [--cpu-load 6] [--json FILE]

A store of `--products` products in 10 groups: `--grouped` of them are modifications, in
modification groups of `--per-group` (sizes S/M/L for three fifths of the groups, flavours for
the rest: two VK properties in all), the others plain products. Every product gets the site's
default photo (none has an Evotor image), or with `--photos K` K Evotor pictures (the first as
the main photo, the others as `photo_ids`). Both sandboxes run in a child process, the publisher on
a temporary SQLite database, as in `bench publish` (bench/publish.py, whose helpers this uses).

Phases: the first publish (requests counted by the client and the sandbox, calls per method,
against the minimum derived in docs/benchmarks.md "Variants"), then a re-sync with nothing
changed (must make 0 write calls and 0 requests). Exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
from pathlib import Path

from bench.cpuload import cpu_load, load_average
from bench.publish import MAIN_GROUP, Sandbox, _merchant, _publish, _setup, _writes

GROUPS = 10
SIZES = ("S", "M", "L", "XL", "XXL")
FLAVOURS = ("Ваниль", "Карамель", "Шоколад", "Мята", "Вишня")


def minimum_requests(*, products: int, albums: int, groups: int, properties: int, variants: int):
    """Calls: N market.add, ⌈N/5⌉ saveProductPhotoBulk, 1 upload URL, G addAlbum, ≥ G
    addToAlbum, P addProperty + W addPropertyVariant, K groupItems; ≤ 25 a request, and the
    calls that need the last request's items (memberships, grouping) go after it: +1."""
    calls = products + math.ceil(products / 5) + 1 + 2 * albums + properties + variants + groups
    return math.ceil(calls / 25) + 1


def _catalog(
    sandbox: Sandbox, *, products: int, grouped: int, per_group: int, photos: int = 0
) -> str:
    """The store; with `photos` ≥ 1 every product has that many Evotor pictures, else none (the
    site's default photo stands in)."""
    pictures = {"image": True, "extra_images": photos - 1} if photos >= 1 else {}
    store = sandbox.control("evotor", "add_store", name="Bench variants", user_id="01-BENCH-VAR")
    sandbox.control("evotor", "add_token", token="bench-variants", user_id="01-BENCH-VAR")
    parents = [
        sandbox.control("evotor", "add_group", store_id=store, name=f"Отдел {n + 1}")["id"]
        for n in range(GROUPS)
    ]
    code = 0
    modification_groups = grouped // per_group
    for n in range(modification_groups):
        sized = n % 5 < 3
        name, choices = ("Размер", SIZES) if sized else ("Вкус", FLAVOURS)
        attribute = {
            "id": f"attr-{name}",
            "name": name,
            "choices": [{"id": f"{name}-{c}", "name": c} for c in choices[:per_group]],
        }
        group = sandbox.control(
            "evotor",
            "add_group",
            store_id=store,
            name=f"{'Футболка' if sized else 'Сироп'} модель {n + 1}",
            parent_id=parents[n % GROUPS],
            attributes=[attribute],
        )["id"]
        for choice in attribute["choices"]:
            code += 1
            sandbox.control(
                "evotor",
                "add_product",
                store_id=store,
                name=f"{'Футболка' if sized else 'Сироп'} модель {n + 1} {choice['name']}",
                price=300 + n,
                parent_id=group,
                quantity=5,
                article_number=f"VAR-{code:05d}",
                attributes_choices={attribute["id"]: choice["id"]},
                **pictures,
            )
    for n in range(products - modification_groups * per_group):
        code += 1
        sandbox.control(
            "evotor",
            "add_product",
            store_id=store,
            name=f"Товар для замера {n + 1}",
            price=100 + n % 50,
            parent_id=parents[n % GROUPS],
            quantity=5,
            article_number=f"VAR-{code:05d}",
            **pictures,
        )
    return store


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench variants", description=__doc__)
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--grouped", type=int, default=300)
    parser.add_argument("--per-group", type=int, default=3)
    parser.add_argument("--rps", type=float, default=3.0)
    parser.add_argument(
        "--photos",
        type=int,
        default=0,
        help="Evotor pictures per product (0: none, the site's default photo for all)",
    )
    parser.add_argument(
        "--cpu-load", type=int, default=0, help="busy-loop processes during the first publish"
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="evosync-bench-variants-"))
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
    child_env = {
        **os.environ,
        **env,
        "DATABASE_URL": f"sqlite:///{workdir / 'sandbox.sqlite3'}",
        "SANDBOX_LOG": str(workdir / "sandbox.log"),
    }
    sandbox = Sandbox(child_env)
    env["EVOTOR_API_URL"] = f"{sandbox.base}/evotor"
    env["VK_API_URL"] = f"{sandbox.base}/vk/method"
    ok = True
    try:
        _setup(env)
        from catalog.services import catalog_refresh_for_user
        from sync.models import VariantGroupLink, VkProperty, VkPropertyVariant

        sandbox.control("vk", "set_rate_limit", n=args.rps)
        store = _catalog(
            sandbox,
            products=args.products,
            grouped=args.grouped,
            per_group=args.per_group,
            photos=args.photos,
        )
        user = _merchant(
            "variants@bench.local",
            evotor_token="bench-variants",
            group_id=MAIN_GROUP,
            store_id=store,
        )
        assert catalog_refresh_for_user(user=user).ok
        with cpu_load(args.cpu_load, max_seconds=900):
            loads_before = load_average()
            first = _publish(sandbox, user, naive=False, label="first publish")
            first["load_average_at_end"] = load_average()
        first["load_average_at_start"] = loads_before
        groups = VariantGroupLink.objects.filter(user=user, vk_item_group_id__isnull=False)
        first["variant_groups_made"] = groups.count()
        first["properties"] = VkProperty.objects.filter(user=user).count()
        first["property_variants"] = VkPropertyVariant.objects.filter(property__user=user).count()
        first["minimum_requests"] = minimum_requests(
            products=args.products,
            albums=first["albums"],
            groups=args.grouped // args.per_group,
            properties=first["properties"],
            variants=first["property_variants"],
        )
        first["ratio"] = round(first["sandbox_requests"] / first["minimum_requests"], 2)
        again = _publish(sandbox, user, naive=False, label="re-sync")
        again["write_calls"] = _writes(again["calls"])
        results = {
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}",
            "products": args.products,
            "grouped": args.grouped,
            "per_group": args.per_group,
            "photos": args.photos,
            "rps": args.rps,
            "cpu_load": args.cpu_load,
            "first_publish": first,
            "resync": again,
        }
        print(json.dumps(results, ensure_ascii=False, indent=1))
        if args.json:
            Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=1))
        if (
            first["status"] != "succeeded"
            or first["variant_groups_made"] != args.grouped // args.per_group
        ):
            print("FAILED: the first publish did not make every variant group", file=sys.stderr)
            ok = False
        if again["write_calls"] or again["sandbox_requests"]:
            print("FAILED: the re-sync sent requests", file=sys.stderr)
            ok = False
    finally:
        sandbox.stop()
    return 0 if ok else 1
