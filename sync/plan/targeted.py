"""The plan of a targeted publish: only the products that changed in Evotor (issue 10 item 2).

A change at the till marks its product dirty (`catalog.DirtyProduct`); the debounced publish
(sync/debounce.py) plans just those products with the same rules and item planning as a whole
run (sync/plan/planner.py, sync/plan/item_plan.py), from inputs read for those products only:
their cached rows, their groups, their links, the merchant's albums. The number of SQL
statements does not depend on the size of the catalog, and the rows read grow with the number
of changed products (plus the merchant's albums and uploaded photos), not with the catalog.

What a targeted plan leaves to the whole runs (first publish, settings changes, the scheduled
reconciliation):
- adoption of hand-made VK items is looked for only when a changed product has no VK item yet
  (the VK catalog cache is read then, as a whole run would);
- links left `creating` by a lost answer are recovered by a whole run (the caller plans in full
  when there are any);
- the removal guard counts the merchant's published items, not only the changed ones.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q

from catalog.filters import selected_products
from catalog.models import CachedGroup, CachedProduct
from sync.models import AdoptionDecision, ItemLink, LinkState
from sync.plan import rules
from sync.plan.chunks import keys_q
from sync.plan.inputs import (
    PRODUCT_COLUMNS,
    Inputs,
    groups_info,
    merchant_albums,
    source_product,
    sync_settings_get,
)
from sync.plan.photos import load_fallbacks
from sync.plan.plan import Plan
from sync.plan.planner import build_plan, guard_holds
from sync.plan.skip import assign_skus_besides
from sync.plan.snapshots import AlbumSnapshot, VkItemSnapshot

Key = tuple[str, str]


def _groups_for(user, rows: list[dict]) -> dict:
    """The groups the products' albums are named from: their own, and for a modification
    group (variants) the group above it (sync.plan.inputs.album_group)."""
    wanted = {(row["store_evotor_id"], row["parent_evotor_id"]) for row in rows}
    wanted.discard(("", ""))
    wanted = {key for key in wanted if key[1]}
    if not wanted:
        return {}
    groups = groups_info(
        CachedGroup.objects.filter(user=user).filter(keys_q(wanted, "store_evotor_id", "evotor_id"))
    )
    parents = {
        (store_id, info.parent_id)
        for (store_id, _group), info in groups.items()
        if info.is_modification_group and info.parent_id
    } - set(groups)
    if parents:
        groups |= groups_info(
            CachedGroup.objects.filter(user=user).filter(
                keys_q(parents, "store_evotor_id", "evotor_id")
            )
        )
    return groups


def _skus(user, products: list[rules.SourceProduct], links: dict[Key, ItemLink]) -> dict:
    """A sku per changed product, unique among the merchant's items: a product keeps its
    link's sku while its base sku is unchanged, and a new one whose base sku another product's
    item carries gets its fallback sku (as `rules.assign_skus` decides in a whole plan). The
    other items' skus are compared ignoring case (`iexact`: on MariaDB, whose collation ignores
    case, the (user, sku) index answers it; SQLite scans the merchant's links)."""
    kept = {key: link.sku for key, link in links.items() if link.sku}
    skus = rules.assign_skus(products, kept=kept)
    if not skus:
        return skus
    same = Q(pk__in=[])
    for sku in sorted(set(skus.values())):
        same |= Q(sku__iexact=sku)
    reserved = {
        sku.lower()
        for store_id, product_id, sku in ItemLink.objects.filter(user=user)
        .filter(same)
        .values_list("store_id", "product_id", "sku")
        if (store_id, product_id) not in skus
    }
    return assign_skus_besides(products, kept=kept, reserved=reserved)


def load_changed_inputs(user, keys: set[Key]) -> Inputs:
    """What a plan of the changed products `keys` needs (see the module docstring)."""
    sync_settings = sync_settings_get(user)
    rule_settings = rules.RuleSettings.from_model(sync_settings)
    if not keys:
        rows, present = [], set()
    else:
        rows = list(
            selected_products(user)
            .filter(keys_q(keys, "store_evotor_id", "evotor_id"))
            .values(*PRODUCT_COLUMNS)
        )
        present = set(
            CachedProduct.objects.filter(user=user, is_removed=False)
            .filter(keys_q(keys, "store_evotor_id", "evotor_id"))
            .values_list("store_evotor_id", "evotor_id")
        )
    groups = _groups_for(user, rows)
    products = [source_product(row, groups) for row in rows]
    links = (
        {
            (link.store_id, link.product_id): link
            for link in ItemLink.objects.filter(user=user).filter(
                keys_q(keys, "store_id", "product_id")
            )
        }
        if keys
        else {}
    )
    selected = {(p.store_id, p.product_id) for p in products}
    inputs = Inputs(
        sync_settings=sync_settings,
        rule_settings=rule_settings,
        products=products,
        links=links,
        albums=merchant_albums(user),
        fallbacks=load_fallbacks(user, sync_settings),
        groups=groups,
        # Not selected and not in the cache as a live product: removed at the till.
        removed_keys={key for key in links if key not in selected and key not in present},
        adoption_decisions={
            (d.store_id, d.product_id): (d.vk_item_id, d.verdict)
            for d in AdoptionDecision.objects.filter(user=user).filter(
                keys_q(keys, "store_id", "product_id")
            )
        }
        if keys
        else {},
    )
    inputs.skus = _skus(user, products, links)
    return inputs


def published_count(user) -> int:
    """How many of the merchant's items are visible in VK (the removal guard's base)."""
    return (
        ItemLink.objects.filter(user=user, vk_item_id__isnull=False)
        .exclude(state__in=(LinkState.DELETED, LinkState.CREATING))
        .exclude(published_fields__hidden=True)
        .count()
    )


def plan_changed(
    inputs: Inputs,
    *,
    published: Callable[[], int],
    vk_items: list[VkItemSnapshot] | None = None,
    vk_albums: list[AlbumSnapshot] = (),
) -> Plan:
    """The plan for the changed products in `inputs`: `build_plan` on them, with the removal
    guard weighed against all the merchant's published items (`published()`, counted only
    when the plan removes more than one item: the guard never holds for fewer)."""
    plan = build_plan(
        desired=inputs.desired_items(),
        links=inputs.link_snapshots(),
        settings=inputs.rule_settings,
        albums=inputs.albums,
        vk_items=vk_items,
        vk_albums=vk_albums,
        removed_keys=inputs.removed_keys,
        adoption_decisions=inputs.adoption_decisions,
    )
    plan.published = published() if plan.removals > 1 else plan.published
    plan.guard_held = guard_holds(
        removals=plan.removals,
        published=plan.published,
        percent=inputs.rule_settings.removal_guard_percent,
    )
    return plan
