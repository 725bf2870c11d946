"""The database side of variant planning: modification groups from the catalog cache
(catalog/modifications.py) and what was published (sync/models/variants.py), read into the
plain data sync/plan/variants.py plans from. A constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.modifications import modification_choices, modification_groups
from sync.models import RunAction, VariantGroupLink, VariantMember, VkProperty, VkPropertyVariant
from sync.plan.plan import Plan, PlanItem
from sync.plan.rules import DesiredItem
from sync.plan.variants import (
    GroupSource,
    GroupState,
    MemberState,
    VariantPlan,
    plan_variants,
)


@dataclass
class VariantInputs:
    sources: list[GroupSource] = field(default_factory=list)
    members: dict[tuple[str, str], MemberState] = field(default_factory=dict)
    group_states: dict[tuple[str, str], GroupState] = field(default_factory=dict)
    known: dict[str, set[str]] = field(default_factory=dict)


def load_variant_inputs(user, store_ids) -> VariantInputs:
    groups = modification_groups(user, store_ids)
    result = VariantInputs()
    if not groups and not VariantGroupLink.objects.filter(user=user).exists():
        return result
    picked = modification_choices(user, groups.values())
    by_group: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    for (store_id, product_id), (group_id, choices) in picked.items():
        group = groups[(store_id, group_id)]
        named = {}
        for attribute in group.attributes:
            choice = attribute.choice_name(choices.get(attribute.id, ""))
            if choice:
                named[attribute.name] = choice
        by_group.setdefault((store_id, group_id), {})[product_id] = named
    result.sources = [
        GroupSource(
            store_id=group.store_id,
            group_id=group.group_id,
            name=group.name,
            attributes=tuple((a.name, tuple(n for _, n in a.choices)) for a in group.attributes),
            choices=by_group.get(group.key, {}),
        )
        for group in groups.values()
    ]
    for row in VariantMember.objects.filter(user=user):
        result.members[(row.store_id, row.product_id)] = MemberState(
            vk_item_id=row.vk_item_id,
            choices=tuple(tuple(pair) for pair in row.choices),
            is_main=row.is_main,
        )
    for row in VariantGroupLink.objects.filter(user=user):
        result.group_states[(row.store_id, row.group_id)] = GroupState(
            vk_item_group_id=row.vk_item_group_id,
            item_ids=tuple(row.item_ids or ()),
            grouping=row.grouping,
        )
    for prop in VkProperty.objects.filter(user=user, vk_property_id__isnull=False):
        result.known[prop.title.casefold()] = set()
    for title, variant in VkPropertyVariant.objects.filter(
        property__user=user, property__vk_property_id__isnull=False, vk_variant_id__isnull=False
    ).values_list("property__title", "title"):
        result.known[title.casefold()].add(variant.casefold())
    return result


def variants_for_plan(
    inputs: VariantInputs, plan: Plan, desired: list[DesiredItem], links: dict
) -> VariantPlan:
    """The variant part of `plan` (its items decide which products are made by the run)."""
    items = {item.key: (item.product_name, item.visible) for item in desired}
    return variants_for_items(inputs, plan.items, items, links)


def member_keys(inputs: VariantInputs) -> set[tuple[str, str]]:
    """The products a variant plan looks at: the modifications and what was published of
    them (a plan built in chunks keeps only these, sync/plan/chunk_plan.py)."""
    keys = {(source.store_id, pid) for source in inputs.sources for pid in source.choices}
    return keys | set(inputs.members)


def variants_for_items(
    inputs: VariantInputs,
    planned: list[PlanItem],
    items: dict[tuple[str, str], tuple[str, bool]],
    links: dict,
) -> VariantPlan:
    """`variants_for_plan` from the plan's items of the `member_keys` (`planned`; others may
    be there too) and the computed products as {key: (name, visible)}."""
    vk_ids = {key: link.vk_item_id for key, link in links.items()}
    creating = set()
    for item in planned:
        if item.skipped:
            continue
        if item.action == RunAction.CREATE:
            creating.add(item.key)
        elif item.action == RunAction.ADOPT:
            vk_ids[item.key] = item.vk_item_id
    # A product whose VK item is deleted by the run (or was) is no variant any more.
    for item in planned:
        if item.action == RunAction.DELETE:
            vk_ids[item.key] = None
    deleted = {key for key, link in links.items() if link.state == "deleted"}
    for key in deleted:
        if key not in creating:
            vk_ids[key] = None
    return plan_variants(
        sources=inputs.sources,
        items=items,
        vk_ids={k: v for k, v in vk_ids.items() if v is not None},
        creating=creating,
        members=inputs.members,
        group_states=inputs.group_states,
        known=inputs.known,
    )
