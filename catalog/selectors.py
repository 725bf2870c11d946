"""Reads of the catalog app. Every merchant-facing query is restricted to the user, so another
merchant's store or group is a 404; each page costs a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from catalog.filters import EntityType, enabled_store_ids, group_switches, subtree
from catalog.models import (
    CachedGroup,
    CachedProduct,
    CachedStore,
    CatalogRefresh,
    SyncFilter,
)
from catalog.refresh import search_text
from evosync.runs import run_looks_stale


def latest_refresh(user) -> CatalogRefresh | None:
    return CatalogRefresh.objects.filter(user=user).order_by("-pk").first()


def refresh_is_stale(run: CatalogRefresh | None) -> bool:
    """A queued or running row nothing can be working on any more (a read: the row is closed
    when the merchant asks for a refresh, `evosync.runs.run_live`)."""
    return run is not None and run_looks_stale(run)


def evotor_connection(user):
    from connections.models import EvotorConnection

    return EvotorConnection.objects.filter(user=user).first()


def _count(model, **filters) -> Coalesce:
    rows = (
        model.objects.filter(store=OuterRef("pk"), is_removed=False, **filters)
        .order_by()
        .values("store")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def store_count(user) -> int:
    """How many stores `stores_for_page` shows."""
    return CachedStore.objects.filter(user=user, is_removed=False).count()


def store_names(user) -> list[tuple[str, str]]:
    """(Evotor store id, name) of the user's stores, in name order (per-store settings)."""
    return list(
        CachedStore.objects.filter(user=user, is_removed=False)
        .order_by("name", "pk")
        .values_list("evotor_id", "name")
    )


def stores_for_page(user) -> list[CachedStore]:
    """The user's stores with `group_count`, `product_count` and `sync_enabled`."""
    stores = list(
        CachedStore.objects.filter(user=user, is_removed=False).annotate(
            group_count=_count(CachedGroup), product_count=_count(CachedProduct)
        )
    )
    enabled = enabled_store_ids(user)
    for store in stores:
        store.sync_enabled = store.evotor_id in enabled
    return stores


def store_for_user(user, pk) -> CachedStore:
    """One of the user's stores (with `sync_enabled`), else 404."""
    store = get_object_or_404(CachedStore, user=user, pk=pk, is_removed=False)
    store.sync_enabled = SyncFilter.objects.filter(
        user=user, entity_type=EntityType.STORE, entity_id=store.evotor_id, enabled=True
    ).exists()
    return store


def group_for_user(user, store: CachedStore, pk) -> CachedGroup:
    return get_object_or_404(CachedGroup, user=user, store=store, pk=pk, is_removed=False)


@dataclass
class GroupNode:
    """A group of the tree page: its own switch, whether it is published, product counts."""

    group: CachedGroup
    depth: int = 0
    switched_on: bool = True
    included: bool = True
    store_off: bool = False  # left out because the whole store is switched off
    products: int = 0
    total: int = 0
    children: list[GroupNode] = field(default_factory=list)

    @property
    def indent(self) -> str:
        return "– " * self.depth


@dataclass
class GroupTree:
    roots: list[GroupNode]
    nodes: dict[str, GroupNode]  # by Evotor id
    ungrouped: int  # products outside any (known) group

    def flat(self) -> list[GroupNode]:
        """Depth-first order, for a select list with indentation."""
        out: list[GroupNode] = []

        def walk(nodes):
            for node in nodes:
                out.append(node)
                walk(node.children)

        walk(self.roots)
        return out


def group_tree(user, store: CachedStore) -> GroupTree:
    """The store's groups as a tree, with product counts and switches, in three queries."""
    groups = list(CachedGroup.objects.filter(store=store, is_removed=False).order_by("name", "pk"))
    counts = dict(
        CachedProduct.objects.filter(store=store, is_removed=False)
        .order_by()
        .values_list("parent_evotor_id")
        .annotate(n=Count("pk"))
    )
    switches = group_switches(user, [store.evotor_id]).get(store.evotor_id, {})
    nodes = {
        group.evotor_id: GroupNode(
            group=group,
            switched_on=switches.get(group.evotor_id, True),
            products=counts.get(group.evotor_id, 0),
        )
        for group in groups
    }
    roots: list[GroupNode] = []
    for node in nodes.values():
        parent = nodes.get(node.group.parent_evotor_id)
        # A parent that is missing (or a loop back to the node) puts it at the top.
        if parent is None or parent is node:
            roots.append(node)
        else:
            parent.children.append(node)

    store_on = getattr(store, "sync_enabled", True)
    visited: set[str] = set()

    def walk(node: GroupNode, depth: int, parent_included: bool) -> int:
        visited.add(node.group.evotor_id)
        node.depth = depth
        node.included = parent_included and node.switched_on
        node.store_off = not store_on
        node.total = node.products
        for child in node.children:
            if child.group.evotor_id not in visited:
                node.total += walk(child, depth + 1, node.included)
        return node.total

    for root in roots:
        walk(root, 0, store_on)
    for node in list(nodes.values()):
        if node.group.evotor_id not in visited:  # a parent loop in bad data: show it on top
            nodes[node.group.parent_evotor_id].children.remove(node)
            roots.append(node)
            walk(node, 0, store_on)
    ungrouped = sum(n for parent_id, n in counts.items() if parent_id not in nodes)
    return GroupTree(roots=roots, nodes=nodes, ungrouped=ungrouped)


def store_products(
    store: CachedStore, *, tree: GroupTree, group_id: str = "", query: str = ""
) -> QuerySet[CachedProduct]:
    """A store's products for the list page: in a group (with its subgroups), matching a search.

    The search looks at name, barcodes, article and code, ignoring case (also for Cyrillic).
    """
    products = CachedProduct.objects.filter(store=store, is_removed=False).order_by("name", "pk")
    if group_id:
        parents = {evotor_id: node.group.parent_evotor_id for evotor_id, node in tree.nodes.items()}
        products = products.filter(parent_evotor_id__in=sorted(subtree([group_id], parents)))
    words = search_text(query).split()
    for word in words:
        products = products.filter(search_text__contains=word)
    return products


def users_to_refresh() -> QuerySet:
    """Ids of active users whose Evotor connection can be used (token set, not broken)."""
    from connections.models import ConnectionState, EvotorConnection

    return (
        EvotorConnection.objects.filter(state=ConnectionState.OK, user__is_active=True)
        .exclude(cloud_token="")
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )


def last_change_arrived(user):
    """When the last single change from Evotor arrived for the merchant (None: never); the
    dashboard's "last change from Evotor"."""
    from catalog.models import CatalogFreshness

    return (
        CatalogFreshness.objects.filter(user=user).values_list("last_change_at", flat=True).first()
    )


def dirty_products(user):
    """The merchant's changed-but-not-yet-published products, oldest change first: what a
    targeted publish will send."""
    from catalog.models import DirtyProduct

    return DirtyProduct.objects.filter(user=user).order_by("changed_at", "pk")
