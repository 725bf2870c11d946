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
  generated ids, the store id and the Evotor user id rewritten for merchant k.

The copies' Evotor stores are generated with the template's content (`content_of`: the same
names, prices and stock, other ids), so their cached rows and links are what a publish of their
own would have left. What a copy does not have: photos on its VK items (a change of picture
would not work on a copy: the benchmark changes prices only). The VK catalog cache
(vk_catalog) is not copied: nothing on the change path reads it for a linked product.
"""

from __future__ import annotations

import json
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


def _swapper(k: int):
    pairs = [
        (id_prefix(TEMPLATE_INDEX), id_prefix(k)),
        (store_id(TEMPLATE_INDEX), store_id(k)),
        (evotor_user_id(TEMPLATE_INDEX), evotor_user_id(k)),
    ]

    def swap_text(text: str) -> str:
        for old, new in pairs:
            if old in text:
                text = text.replace(old, new)
        return text

    def swap(value):
        if isinstance(value, str):
            return swap_text(value)
        if isinstance(value, dict | list):
            return json.loads(swap_text(json.dumps(value, ensure_ascii=False)))
        return value

    return swap


def _photo_hash_swap(template_row: dict, values: dict) -> None:
    """The hash of an Evotor picture is made of its id (sync.plan.photos): a copy's link gets
    the hash of its own picture's id, as its publish would have left it."""
    from sync.plan.rules import short_hash

    old_image = (template_row.get("evotor_image") or "").split(" ")[0]
    new_image = (values.get("evotor_image") or "").split(" ")[0]
    if old_image and template_row["photo_hash"] == short_hash(f"evotor:{old_image}"):
        values["photo_hash"] = short_hash(f"evotor:{new_image}")


def clone_merchants(sandbox, template, *, merchants: int, products: int, batch: int = 50) -> dict:
    """Merchants 1 … merchants − 1 as copies of `template` (see the module's docstring)."""
    from django.apps import apps
    from django.db import transaction

    from accounts.models import User
    from catalog.models import CachedStore
    from connections.models import EvotorConnection, VkConnection
    from sync.models import ItemLink

    started = time.monotonic()
    models = [apps.get_model(label) for label in CLONED]
    rows = {model: list(model.objects.filter(user=template).values()) for model in models}
    user_row = User.objects.filter(pk=template.pk).values().get()
    sandbox_seconds = 0.0
    for first in range(1, merchants, batch):
        numbers = range(first, min(merchants, first + batch))
        sandbox_started = time.monotonic()
        for k in numbers:
            sandbox.control(
                "evotor",
                "generate",
                products=products,
                stores=1,
                user_id=evotor_user_id(k),
                first_index=k,
                content_of=TEMPLATE_INDEX,
                photos_per_product=PHOTOS,
            )
            sandbox.control("evotor", "add_token", token=evotor_token(k), user_id=evotor_user_id(k))
            sandbox.control(
                "vk", "clone_group", source_group_id=group_id(TEMPLATE_INDEX), group_id=group_id(k)
            )
            sandbox.control("vk", "add_token", token=vk_token(k), user_id=VK_ADMIN)
        sandbox_seconds += time.monotonic() - sandbox_started
        with transaction.atomic():
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
            stores: dict[int, int] = {}
            for model in models:
                has_store = any(f.name == "store" and f.is_relation for f in model._meta.fields)
                new = []
                for k in numbers:
                    swap = _swapper(k)
                    for row in rows[model]:
                        values = {f: swap(v) for f, v in row.items() if f != "id"}
                        values["user_id"] = user_ids[k]
                        if has_store:
                            values["store_id"] = stores[k]
                        if model is ItemLink:
                            _photo_hash_swap(row, values)
                        new.append(model(**values))
                model.objects.bulk_create(new, batch_size=2000)
                if model is CachedStore:
                    by_user = dict(
                        CachedStore.objects.filter(user_id__in=user_ids.values()).values_list(
                            "user_id", "pk"
                        )
                    )
                    stores = {k: by_user[user_ids[k]] for k in numbers}
        print(
            f"  merchants {first}–{numbers[-1]} copied, {time.monotonic() - started:.0f} s",
            flush=True,
        )
    return {
        "seconds": round(time.monotonic() - started, 1),
        "sandbox_seconds": round(sandbox_seconds, 1),
        "rows_per_merchant": {m._meta.label: len(rows[m]) for m in models},
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
