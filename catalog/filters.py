"""What the merchant chose to publish: the store and group switches (`SyncFilter` rows).

Semantics (also in `catalog.models.SyncFilter`):
- a store is off until switched on; a store with no row is off;
- in a store that is on, a group is included unless it, or one of its ancestors, is switched
  off; a group with no row follows its parent; products outside any group follow the store.

`selected_products(user)` turns that into the queryset publishing works from, in a constant
number of queries whatever the size of the catalog.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from catalog.models import CachedGroup, CachedProduct, SyncFilter

EntityType = SyncFilter.EntityType


def sync_filter_set(
    *, user, entity_type: str, entity_id: str, parent_entity_id: str = "", enabled: bool
) -> SyncFilter:
    """Switch a store or a group (by Evotor ids) on or off for publishing.

    A group needs the Evotor id of its store as `parent_entity_id`; a store takes none.
    Callers check that the store or group belongs to `user` (the catalog pages look it up in
    the user's cache first).
    """
    if entity_type not in EntityType.values:
        raise ValueError(_("Unknown kind of filter: %(kind)s.") % {"kind": entity_type})
    if not entity_id:
        raise ValueError(_("An Evotor id is required."))
    if entity_type == EntityType.GROUP and not parent_entity_id:
        raise ValueError(_("A group switch needs the Evotor id of its store."))
    if entity_type == EntityType.STORE:
        parent_entity_id = ""
    row, _created = SyncFilter.objects.update_or_create(
        user=user,
        entity_type=entity_type,
        parent_entity_id=parent_entity_id,
        entity_id=entity_id,
        defaults={"enabled": bool(enabled)},
    )
    return row


def enabled_store_ids(user) -> set[str]:
    """Evotor ids of the stores switched on."""
    return set(
        SyncFilter.objects.filter(
            user=user, entity_type=EntityType.STORE, enabled=True
        ).values_list("entity_id", flat=True)
    )


def group_switches(
    user, store_evotor_ids: Iterable[str] | None = None
) -> dict[str, dict[str, bool]]:
    """{store id: {group id: enabled}} for the groups that have an explicit switch."""
    rows = SyncFilter.objects.filter(user=user, entity_type=EntityType.GROUP)
    if store_evotor_ids is not None:
        rows = rows.filter(parent_entity_id__in=list(store_evotor_ids))
    switches: dict[str, dict[str, bool]] = defaultdict(dict)
    for store_id, group_id, enabled in rows.values_list("parent_entity_id", "entity_id", "enabled"):
        switches[store_id][group_id] = enabled
    return dict(switches)


def subtree(roots: Iterable[str], parent_of: dict[str, str]) -> set[str]:
    """`roots` and every group below them, given {group id: parent id} of one store."""
    children: dict[str, list[str]] = defaultdict(list)
    for group_id, parent_id in parent_of.items():
        if parent_id:
            children[parent_id].append(group_id)
    found: set[str] = set()
    stack = list(roots)
    while stack:
        group_id = stack.pop()
        if group_id in found:
            continue  # a cycle in bad data must not loop forever
        found.add(group_id)
        stack.extend(children.get(group_id, ()))
    return found


def excluded_group_ids(user, store_evotor_ids: Iterable[str]) -> dict[str, set[str]]:
    """{store id: ids of the groups switched off, with their subtrees} for the given stores."""
    switches = group_switches(user, store_evotor_ids)
    off = {
        store_id: [group_id for group_id, enabled in groups.items() if not enabled]
        for store_id, groups in switches.items()
    }
    off = {store_id: ids for store_id, ids in off.items() if ids}
    if not off:
        return {}
    parents: dict[str, dict[str, str]] = defaultdict(dict)
    for store_id, group_id, parent_id in CachedGroup.objects.filter(
        user=user, store_evotor_id__in=list(off)
    ).values_list("store_evotor_id", "evotor_id", "parent_evotor_id"):
        parents[store_id][group_id] = parent_id
    return {store_id: subtree(ids, parents[store_id]) for store_id, ids in off.items()}


def selected_products(user, *, include_removed: bool = False) -> QuerySet[CachedProduct]:
    """The user's cached products that the store and group switches send to VK.

    Products marked removed in Evotor are left out unless `include_removed`.
    """
    stores = enabled_store_ids(user)
    products = CachedProduct.objects.filter(user=user, store_evotor_id__in=sorted(stores))
    if not include_removed:
        products = products.filter(is_removed=False)
    excluded = Q()
    for store_id, group_ids in sorted(excluded_group_ids(user, stores).items()):
        excluded |= Q(store_evotor_id=store_id, parent_evotor_id__in=sorted(group_ids))
    if excluded:
        products = products.exclude(excluded)
    return products
