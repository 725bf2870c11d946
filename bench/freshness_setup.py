"""Setting up bench/freshness.py fast: N merchants × M products already published.

One template merchant (number 0) is made the real way: a generated Evotor store, a catalog
refresh, a first publish into its VK community (at a raised VK rate, this process only). The
other N − 1 are copies of it, written directly:

* Evotor sandbox: a generated store of their own (`generate(first_index=k)`: ids `7e57<k>-…`)
  and a cloud token;
* VK sandbox: a copy of the template's community (`clone_group`: same item and album ids, no
  photos) and a token of their own;
* database: the template's rows of every per-merchant table a published merchant has (stores,
  groups, products, filters, settings, links, album links, photo records, connections), with the
  generated ids, the store id and the Evotor user id rewritten for merchant k: one
  INSERT … SELECT per table for each batch of merchants, the rewriting done in SQL (`REPLACE`;
  the photo hash by SHA2 in MariaDB, a registered function in SQLite). 1,000 × 1,000 takes
  about 80 s on SQLite, against half an hour estimated row by row in Python.

The sandboxes hold their state in memory: `sandbox_copies` makes it again in a new sandbox
process from the template's community as `export_group` gave it, so a set-up database can be
used by later runs (bench/freshness.py --workdir).

The copies' Evotor stores are generated with the template's content (`content_of`: the same
names, prices and stock, other ids), so their cached rows and links are what a publish of their
own would have left. What a copy does not have: photos on its VK items (a change of picture
would not work on a copy: the benchmark changes prices only). The VK catalog cache
(vk_catalog) is not copied: nothing on the change path reads it for a linked product.
"""

from __future__ import annotations

import time

CATEGORY = 40099
VK_ADMIN = 1001
BASE_GROUP = 500_000
TEMPLATE_INDEX = 0
# One Evotor picture a product: a copy's VK items carry no extra photos (their VK catalog cache is
# not copied), so products with extra pictures would be sent again on a copy's first change.
PHOTOS = 1


def evotor_user_id(k: int) -> str:
    return f"01-FRESH-{k:06d}"


def store_id(k: int) -> str:
    return f"20240101-7E57-{k:04X}-8000-{k:012X}"


def id_prefix(k: int) -> str:
    """The prefix of every generated id (product, group, image) of store number k."""
    return f"7e57{k:04x}-"


def evotor_token(k: int) -> str:
    return f"fresh-evotor-{k}"


def vk_token(k: int) -> str:
    return f"fresh-vk-{k}"


def group_id(k: int) -> int:
    return BASE_GROUP + k


def merchant_create(sandbox, k: int, *, products: int, email: str, content_of: int | None = None):
    """A merchant with a generated store of `products` in the Evotor sandbox, a VK community
    and the connections, not yet read nor published (the template, the first-publish one)."""
    from accounts.models import User
    from catalog.filters import sync_filter_set
    from catalog.models import SyncFilter
    from connections.models import EvotorConnection, VkConnection
    from sync.plan.inputs import sync_settings_get

    (store,) = sandbox.control(
        "evotor",
        "generate",
        products=products,
        stores=1,
        user_id=evotor_user_id(k),
        first_index=k,
        content_of=content_of,
        photos_per_product=PHOTOS,
    )
    sandbox.control("evotor", "add_token", token=evotor_token(k), user_id=evotor_user_id(k))
    sandbox.control("vk", "add_group", group_id=group_id(k), name=f"m{k}", admins=[VK_ADMIN])
    sandbox.control("vk", "add_token", token=vk_token(k), user_id=VK_ADMIN)
    user = User.objects.create_user(email=email, password="Bench-Password-1", status="active")
    EvotorConnection.objects.create(
        user=user, cloud_token=evotor_token(k), evotor_user_id=evotor_user_id(k)
    )
    VkConnection.objects.create(user=user, access_token=vk_token(k), group_id=group_id(k))
    settings_obj = sync_settings_get(user)
    settings_obj.vk_category_id = CATEGORY
    settings_obj.save()
    sync_filter_set(
        user=user, entity_type=SyncFilter.EntityType.STORE, entity_id=store, enabled=True
    )
    return user


def template_publish(sandbox, *, products: int):
    """Merchant 0, read and published for real; returns the user."""
    from catalog.services import catalog_refresh_for_user
    from sync.lifecycle import sync_run_create
    from sync.publish.run import sync_run_execute

    user = merchant_create(sandbox, TEMPLATE_INDEX, products=products, email="m0@fresh.bench")
    refresh = catalog_refresh_for_user(user=user)
    if not refresh.ok:
        raise RuntimeError(f"the template's catalog refresh failed: {refresh.error}")
    run = sync_run_execute(run=sync_run_create(user=user, trigger="manual"))
    if run.status != "succeeded":
        raise RuntimeError(f"the template's first publish {run.status}: {run.error}")
    return user


# Per-merchant tables a published merchant has rows in, parents first. Runs, logs, marks and
# locks are left out: a copy starts with no history.
CLONED = (
    "catalog.CachedStore",
    "catalog.CachedGroup",
    "catalog.CachedProduct",
    "catalog.CatalogFreshness",
    "catalog.SyncFilter",
    "sync.SyncSettings",
    "sync.AlbumLink",
    "sync.ItemLink",
    "sync.ProductPhoto",
)


def _swap_pairs(k: int) -> list[tuple[str, str]]:
    """What a copy's text has instead of the template's, replaced in this order."""
    return [
        (id_prefix(TEMPLATE_INDEX), id_prefix(k)),
        (store_id(TEMPLATE_INDEX), store_id(k)),
        (evotor_user_id(TEMPLATE_INDEX), evotor_user_id(k)),
    ]


def _photo_hash(evotor_image: str | None) -> str:
    """The photo hash a link to a product whose main Evotor picture is `evotor_image` (its
    first word) has (sync.plan.photos: made of the picture's id)."""
    from sync.plan.rules import short_hash

    return short_hash(f"evotor:{(evotor_image or '').split(' ')[0]}")


def _photo_hash_links(template) -> list[int]:
    """The template's links whose photo hash is that of their Evotor picture: a copy's link
    gets the hash of its own picture's id, as its publish would have left it."""
    from sync.models import ItemLink

    return [
        pk
        for pk, image, photo_hash in ItemLink.objects.filter(user=template).values_list(
            "pk", "evotor_image", "photo_hash"
        )
        if (image or "").split(" ")[0] and photo_hash == _photo_hash(image)
    ]


MAP_TABLE = "bench_freshness_copies"
TEXT_TYPES = frozenset({"CharField", "TextField", "JSONField", "SlugField", "EmailField"})


def _copy_sql(model, template_pk: int, photo_links: list[int], vendor: str) -> tuple[str, list]:
    """One INSERT … SELECT writing the template's rows of `model` once for every copy listed
    in MAP_TABLE: user and store rewritten, the template's ids replaced in every text column."""
    from sync.models import ItemLink

    columns, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        column = field.column
        source = f"t.{column}"
        if field.is_relation and field.name == "user":
            expression = "m.user_id"
        elif field.is_relation and field.name == "store":
            expression = "m.store_pk"
        elif model is ItemLink and field.name == "photo_hash" and photo_links:
            image = "REPLACE(t.evotor_image, %s, m.prefix)"
            params.append(id_prefix(TEMPLATE_INDEX))
            if vendor == "sqlite":
                hashed = f"bench_photo_hash({image})"
            else:
                hashed = f"LEFT(SHA2(CONCAT('evotor:', SUBSTRING_INDEX({image}, ' ', 1)), 256), 32)"
            listed = ", ".join(str(int(pk)) for pk in photo_links)
            expression = f"CASE WHEN t.id IN ({listed}) THEN {hashed} ELSE t.photo_hash END"
        elif field.get_internal_type() in TEXT_TYPES:
            expression = source
            for (old, _new), column_of_copy in zip(
                _swap_pairs(TEMPLATE_INDEX), ("prefix", "store_ident", "evuser"), strict=True
            ):
                expression = f"REPLACE({expression}, %s, m.{column_of_copy})"
                params.append(old)
        else:
            expression = source
        columns.append(column)
        expressions.append(expression)
    table = model._meta.db_table
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"SELECT {', '.join(expressions)} FROM {table} t CROSS JOIN {MAP_TABLE} m "
        f"WHERE t.user_id = %s"
    )
    return sql, [*params, template_pk]


def sandbox_copies(sandbox, numbers, *, products: int, template_group: dict) -> float:
    """The sandboxes' side of the merchants `numbers` (template included if listed): a
    generated Evotor store with the template's content and a token; in VK, the template's
    community as exported (`template_group`) and a copy of it for the others. In-memory in the
    sandbox process: made again in every new sandbox (bench/freshness.py --workdir)."""
    started = time.monotonic()
    for k in numbers:
        sandbox.control(
            "evotor",
            "generate",
            products=products,
            stores=1,
            user_id=evotor_user_id(k),
            first_index=k,
            content_of=None if k == TEMPLATE_INDEX else TEMPLATE_INDEX,
            photos_per_product=PHOTOS,
        )
        sandbox.control("evotor", "add_token", token=evotor_token(k), user_id=evotor_user_id(k))
        if k == TEMPLATE_INDEX:
            sandbox.control("vk", "import_group", data=template_group)
        else:
            sandbox.control(
                "vk", "clone_group", source_group_id=group_id(TEMPLATE_INDEX), group_id=group_id(k)
            )
        sandbox.control("vk", "add_token", token=vk_token(k), user_id=VK_ADMIN)
    return time.monotonic() - started


def clone_merchants(template, *, merchants: int, batch: int = 100) -> dict:
    """Merchants 1 … merchants − 1 as copies of `template` in the database (see the module's
    docstring; their sandboxes' side is `sandbox_copies`): per batch of merchants, the users
    and connections by bulk_create, then one INSERT … SELECT per table for the whole batch."""
    from django.apps import apps
    from django.db import connection, transaction

    from accounts.models import User
    from catalog.models import CachedStore
    from connections.models import EvotorConnection, VkConnection

    started = time.monotonic()
    models = [apps.get_model(label) for label in CLONED]
    counts = {m._meta.label: m.objects.filter(user=template).count() for m in models}
    if counts["catalog.CachedStore"] != 1:
        raise RuntimeError("the template must have exactly one store")
    user_row = User.objects.filter(pk=template.pk).values().get()
    photo_links = _photo_hash_links(template)
    vendor = connection.vendor
    connection.ensure_connection()
    if vendor == "sqlite":
        connection.connection.create_function(
            "bench_photo_hash", 1, _photo_hash, deterministic=True
        )
    statements = [_copy_sql(model, template.pk, photo_links, vendor) for model in models]
    with connection.cursor() as cursor:
        if vendor == "sqlite":
            # A benchmark's own file: a crash during the setup means setting up again.
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-200000")
        cursor.execute(f"DROP TABLE IF EXISTS {MAP_TABLE}")
        cursor.execute(
            f"CREATE TABLE {MAP_TABLE} (k integer PRIMARY KEY, user_id bigint NOT NULL,"
            " store_pk bigint NULL, prefix varchar(64) NOT NULL,"
            " store_ident varchar(64) NOT NULL, evuser varchar(64) NOT NULL)"
        )
    for first in range(1, merchants, batch):
        numbers = range(first, min(merchants, first + batch))
        with transaction.atomic(), connection.cursor() as cursor:
            users = User.objects.bulk_create(
                [
                    User(
                        **{
                            **{f: v for f, v in user_row.items() if f not in ("id", "last_login")},
                            "email": f"m{k}@fresh.bench",
                        }
                    )
                    for k in numbers
                ]
            )
            by_email = dict(
                User.objects.filter(email__in=[u.email for u in users]).values_list("email", "pk")
            )
            user_ids = {k: by_email[f"m{k}@fresh.bench"] for k in numbers}
            EvotorConnection.objects.bulk_create(
                [
                    EvotorConnection(
                        user_id=user_ids[k],
                        cloud_token=evotor_token(k),
                        evotor_user_id=evotor_user_id(k),
                    )
                    for k in numbers
                ]
            )
            VkConnection.objects.bulk_create(
                [
                    VkConnection(
                        user_id=user_ids[k], access_token=vk_token(k), group_id=group_id(k)
                    )
                    for k in numbers
                ]
            )
            cursor.execute(f"DELETE FROM {MAP_TABLE}")
            cursor.executemany(
                f"INSERT INTO {MAP_TABLE} (k, user_id, prefix, store_ident, evuser)"
                " VALUES (%s, %s, %s, %s, %s)",
                [(k, user_ids[k], *(new for _old, new in _swap_pairs(k))) for k in numbers],
            )
            for model, (sql, params) in zip(models, statements, strict=True):
                cursor.execute(sql, params)
                if model is CachedStore:
                    cursor.execute(
                        f"UPDATE {MAP_TABLE} SET store_pk = (SELECT s.id FROM"
                        f" {CachedStore._meta.db_table} s WHERE s.user_id = {MAP_TABLE}.user_id)"
                    )
        print(
            f"  merchants {first}–{numbers[-1]} copied, {time.monotonic() - started:.0f} s",
            flush=True,
        )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {MAP_TABLE}")
        if vendor == "sqlite":
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("ANALYZE")
        else:
            for model in models:
                cursor.execute(f"ANALYZE TABLE {model._meta.db_table}")
                cursor.fetchall()
    return {
        "seconds": round(time.monotonic() - started, 1),
        "rows_per_merchant": counts,
    }


def published_products(template) -> list[tuple[str, int]]:
    """(generated position, VK item id) of every product the template published: what a copy
    has at the same position and item id."""
    from sync.models import ItemLink, LinkState

    out = []
    for product_id, item_id in ItemLink.objects.filter(
        user=template, state=LinkState.PUBLISHED, vk_item_id__isnull=False
    ).values_list("product_id", "vk_item_id"):
        if product_id.startswith(id_prefix(TEMPLATE_INDEX)) and "-0001-" in product_id:
            out.append((int(product_id.rsplit("-", 1)[1], 16), item_id))
    return sorted(out)


def product_id(k: int, position: int) -> str:
    return f"{id_prefix(k)}0001-4000-8000-{position:012x}"
