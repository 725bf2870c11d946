"""Modification groups: an Evotor product sold in variants (sizes, flavours).

docs/contracts/evotor-api.md §5.3: a group with `attributes` (`[{id, name, choices: [{id,
name}]}]`) is a modification group; its products are the modifications and carry
`attributes_choices` (`{attribute id: choice id}`, §5.2). The catalog cache keeps both in the
rows' `raw` payloads (catalog/refresh.py stores Evotor's JSON as it came); this module reads
them into typed objects, for the planner (sync/plan/variants.py) and the pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.models import CachedGroup, CachedProduct


@dataclass(frozen=True)
class Attribute:
    id: str
    name: str
    choices: tuple[tuple[str, str], ...]  # (choice id, name), in Evotor's order

    def choice_name(self, choice_id: str) -> str | None:
        return next((name for cid, name in self.choices if cid == choice_id), None)


@dataclass(frozen=True)
class ModificationGroup:
    store_id: str
    group_id: str
    name: str
    attributes: tuple[Attribute, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.store_id, self.group_id)


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def parse_attributes(raw: dict | None) -> tuple[Attribute, ...]:
    """A group's `attributes`, leaving out what has no id or name (bad data is not fatal)."""
    attributes = []
    for entry in (raw or {}).get("attributes") or ():
        if not isinstance(entry, dict) or not _text(entry.get("id")):
            continue
        choices = tuple(
            (_text(c.get("id")), _text(c.get("name")))
            for c in entry.get("choices") or ()
            if isinstance(c, dict) and _text(c.get("id")) and _text(c.get("name"))
        )
        attributes.append(Attribute(_text(entry["id"]), _text(entry.get("name")), choices))
    return tuple(attributes)


def parse_choices(raw: dict | None) -> dict[str, str]:
    """A product's `attributes_choices`: {attribute id: choice id}."""
    value = (raw or {}).get("attributes_choices")
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items() if isinstance(v, str | int)}


def modification_groups(user, store_ids) -> dict[tuple[str, str], ModificationGroup]:
    """The merchant's modification groups in these stores, by (store id, group id)."""
    groups = {}
    rows = CachedGroup.objects.filter(
        user=user, store_evotor_id__in=sorted(store_ids), is_removed=False
    ).values_list("store_evotor_id", "evotor_id", "name", "raw")
    for store_id, group_id, name, raw in rows:
        attributes = parse_attributes(raw)
        if attributes:
            groups[(store_id, group_id)] = ModificationGroup(store_id, group_id, name, attributes)
    return groups


def modification_choices(user, groups) -> dict[tuple[str, str], tuple[str, dict[str, str]]]:
    """{(store id, product id): (group id, attributes_choices)} for the products of `groups`
    (ModificationGroups), one query per store."""
    by_store: dict[str, list[str]] = {}
    for group in groups:
        by_store.setdefault(group.store_id, []).append(group.group_id)
    result = {}
    for store_id, group_ids in by_store.items():
        rows = CachedProduct.objects.filter(
            user=user, store_evotor_id=store_id, parent_evotor_id__in=group_ids, is_removed=False
        ).values_list("evotor_id", "parent_evotor_id", "raw")
        for product_id, group_id, raw in rows:
            result[(store_id, product_id)] = (group_id, parse_choices(raw))
    return result
