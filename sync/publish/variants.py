"""Variants in VK: properties and property variants made before the items, the new items made
with their `variant_ids`, then existing items edited and every group grouped after them.

A collaborator of the executor (sync/publish/executor.py), in three steps:
- `prepare` (after the albums, before the items): makes what the plan's groups need of
  `market.addProperty` and `market.addPropertyVariant`, each variant chained to its new property
  by `VkRef` in the same `execute`. A row is written without VK id before its call leaves; a row
  still without id at the next run (killed, answer lost) is first looked up by title in
  `market.getProperties`, so nothing is made twice.
- `annotate`: each new item of a group carries its `variant_ids` and `is_main_variant` in its
  own `market.add` (no extra call).
- `finish` (after the items): per group, in order, `market.ungroupItems` when the group must be
  rebuilt (a member left, or its properties changed), a `market.edit` for each existing item
  whose variants or main mark changed, and `market.groupItems`. The group row is marked
  `grouping` before the request leaves; repeating any of it after a crash is harmless (VK moves
  an item grouped again out of its old group; ungrouping a group that is gone answers 1411,
  taken as done).

docs/contracts/vk-market-api.md §13; the limits are in sync/plan/variants.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from connections.vk_client import VkCallResult
from connections.vk_script import VkCall, VkRef
from sync.models import (
    LinkState,
    RunAction,
    VariantGroupLink,
    VariantMember,
    VkProperty,
    VkPropertyVariant,
)
from sync.plan.plan import Plan
from sync.plan.variants import Member, VariantGroupPlan, VariantPlan
from sync.publish.work import Batch

logger = logging.getLogger(__name__)

GROUP_GONE = 1411  # ungroupItems of a group VK no longer has


class VariantPublisher:
    def __init__(self, *, user, group_id: int, plan: VariantPlan, note_stop: Callable):
        self.user = user
        self.group_id = int(group_id)
        self.owner_id = -int(group_id)
        self.plan = plan
        self.note_stop = note_stop
        self.properties: dict[str, VkProperty] = {}
        self.variants: dict[tuple[str, str], VkPropertyVariant] = {}
        self.sent_with_add: set[tuple[str, str]] = set()

    # --- properties and their variants ----------------------------------------------------------
    def _load(self) -> None:
        self.properties = {p.title.casefold(): p for p in VkProperty.objects.filter(user=self.user)}
        self.variants = {
            (v.property.title.casefold(), v.title.casefold()): v
            for v in VkPropertyVariant.objects.filter(property__user=self.user).select_related(
                "property"
            )
        }

    def variant_id(self, prop: str, variant: str) -> int | None:
        owner = self.properties.get(prop.casefold())
        row = self.variants.get((prop.casefold(), variant.casefold()))
        if owner is None or owner.vk_property_id is None or row is None:
            return None
        return row.vk_variant_id

    def prepare(self, *, send: Callable[[Batch], None], max_calls: int) -> None:
        """Make the properties and variants the plan needs (see the module's docstring)."""
        if not any(group.members for group in self.plan.groups):
            return
        self._load()
        if not self.plan.has_work:
            return
        wanted = [(p, v) for p, v in self.plan.new_variants]
        if not wanted:
            return
        unsure = any(p.vk_property_id is None for p in self.properties.values()) or any(
            v.vk_variant_id is None for v in self.variants.values()
        )
        if unsure or not self.properties:
            batch = Batch()
            batch.add([VkCall("market.getProperties", {"group_id": self.group_id})], self._listed)
            send(batch)
        for prop_title, variant_title in wanted:
            prop = self.properties.get(prop_title.casefold())
            if prop is None:
                prop = VkProperty.objects.create(user=self.user, title=prop_title)
                self.properties[prop_title.casefold()] = prop
            key = (prop_title.casefold(), variant_title.casefold())
            if key not in self.variants:
                self.variants[key] = VkPropertyVariant.objects.create(
                    property=prop, title=variant_title
                )
        tried: set[tuple[str, int]] = set()  # ("p" | "v", row pk)
        while True:
            batch = self._make_batch(max_calls, tried)
            if not batch.calls:
                return
            send(batch)

    def _make_batch(self, max_calls: int, tried: set[tuple[str, int]]) -> Batch:
        """New properties, each followed by its variants (chained by VkRef), then variants of
        properties VK already has; each row tried once per run."""
        batch = Batch()
        missing = [v for v in self.variants.values() if v.vk_variant_id is None]
        for prop in self.properties.values():
            if len(batch.calls) >= max_calls:
                break
            needed = [v for v in missing if v.property_id == prop.pk and ("v", v.pk) not in tried]
            if prop.vk_property_id is None and ("p", prop.pk) not in tried and needed:
                tried.add(("p", prop.pk))
                at = len(batch.calls)
                batch.add(
                    [
                        VkCall(
                            "market.addProperty", {"group_id": self.group_id, "title": prop.title}
                        )
                    ],
                    self._property_made(prop),
                )
                for variant in needed:
                    if len(batch.calls) >= max_calls:
                        break
                    tried.add(("v", variant.pk))
                    self._add_variant(batch, variant, VkRef(at, "property_id"))
            elif prop.vk_property_id is not None:
                for variant in needed:
                    if len(batch.calls) >= max_calls:
                        break
                    tried.add(("v", variant.pk))
                    self._add_variant(batch, variant, prop.vk_property_id)
        return batch

    def _add_variant(self, batch: Batch, variant: VkPropertyVariant, property_id) -> None:
        params = {"group_id": self.group_id, "property_id": property_id, "title": variant.title}
        batch.add([VkCall("market.addPropertyVariant", params)], self._variant_made(variant))

    def _listed(self, results: list[VkCallResult]) -> None:
        """Take the ids of what VK already has, by title (ours made before an answer was lost,
        or the merchant's own)."""
        (result,) = results
        if not result.ok or not isinstance(result.value, dict):
            self.note_stop(result.error)
            return
        for entry in result.value.get("items") or ():
            title = str(entry.get("title", ""))
            prop = self.properties.get(title.casefold())
            if prop is None:
                prop = VkProperty.objects.create(
                    user=self.user, title=title, vk_property_id=entry["id"]
                )
                self.properties[title.casefold()] = prop
            elif prop.vk_property_id is None or prop.vk_property_id == entry["id"]:
                prop.vk_property_id = entry["id"]
                prop.save(update_fields=["vk_property_id"])
            else:
                continue  # another property of that title: ours is the one we know
            for listed in entry.get("variants") or ():
                key = (title.casefold(), str(listed.get("title", "")).casefold())
                variant = self.variants.get(key)
                if variant is None:
                    self.variants[key] = VkPropertyVariant.objects.create(
                        property=prop, title=listed["title"], vk_variant_id=listed["id"]
                    )
                elif variant.vk_variant_id is None:
                    variant.vk_variant_id = listed["id"]
                    variant.save(update_fields=["vk_variant_id"])

    def _property_made(self, prop: VkProperty):
        def handle(results: list[VkCallResult]) -> None:
            (result,) = results
            if result.ok:
                prop.vk_property_id = result.value["property_id"]
                prop.save(update_fields=["vk_property_id"])
            else:
                self.note_stop(result.error)

        return handle

    def _variant_made(self, variant: VkPropertyVariant):
        def handle(results: list[VkCallResult]) -> None:
            (result,) = results
            if result.ok:
                variant.vk_variant_id = result.value["variant_id"]
                variant.save(update_fields=["vk_variant_id"])
            else:
                self.note_stop(result.error)

        return handle

    # --- new items ------------------------------------------------------------------------------
    def ids_of(self, member: Member) -> list[int] | None:
        ids = [self.variant_id(p, v) for p, v in member.choices]
        return None if None in ids else ids

    def annotate(self, plan: Plan) -> None:
        """Give each new item of a group its variants in its own `market.add`."""
        members = {m.key: m for g in self.plan.groups for m in g.members if m.creating}
        for item in plan.items:
            member = members.get(item.key)
            if member is None or item.skipped or item.action != RunAction.CREATE:
                continue
            ids = self.ids_of(member)
            if ids is None:
                continue  # the variant was not made: the item is made plain, edited next run
            item.send_fields["variant_ids"] = ids
            item.send_fields["is_main_variant"] = 1 if member.is_main else 0
            self.sent_with_add.add(item.key)

    # --- after the items: edits and grouping -----------------------------------------------------
    def finish(self, links: dict, *, send: Callable[[Batch], None], max_calls: int) -> None:
        group_rows = {
            (row.store_id, row.group_id): row
            for row in VariantGroupLink.objects.filter(user=self.user)
        }
        planned = []  # (call, handler) in order
        for group in self.plan.groups:
            planned.extend(self._group_calls(group, links, group_rows.get(group.key)))
        while planned:
            batch = Batch()
            while planned and len(batch.calls) < max_calls:
                call, handler = planned.pop(0)
                batch.add([call], handler)
            send(batch)

    def _present(self, group: VariantGroupPlan, links: dict) -> list[Member]:
        present = []
        for member in group.members:
            link = links.get(member.key)
            if link is None or link.vk_item_id is None or link.state == LinkState.DELETED:
                continue
            member.vk_item_id = link.vk_item_id
            if member.creating:
                if member.key in self.sent_with_add:
                    self._record(member, self.ids_of(member))
                    member.creating = False
                else:
                    member.change = "variants"
            present.append(member)
        return present

    def _group_calls(self, group: VariantGroupPlan, links: dict, row: VariantGroupLink | None):
        present = self._present(group, links)
        wanted = [m.vk_item_id for m in present]
        old_id = row.vk_item_group_id if row else None
        rebuild = old_id is not None and (
            not set(row.item_ids) <= set(wanted)
            or len(present) < 2
            or any(m.change == "variants" for m in present)
        )
        regroup = len(present) >= 2 and (
            rebuild
            or row is None
            or row.grouping
            or old_id is None
            or set(row.item_ids) != set(wanted)
        )
        planned = []
        if rebuild:
            planned.append(
                (
                    VkCall(
                        "market.ungroupItems", {"group_id": self.group_id, "item_group_id": old_id}
                    ),
                    self._ungrouped(group),
                )
            )
        for member in present:
            if not member.change:
                continue
            ids = self.ids_of(member)
            if ids is None:
                continue
            params = {"owner_id": self.owner_id, "item_id": member.vk_item_id}
            if member.change == "variants":
                params["variant_ids"] = ids
            params["is_main_variant"] = 1 if member.is_main else 0
            planned.append((VkCall("market.edit", params), self._edited(member, ids)))
        ids = [m.vk_item_id for m in present if self.ids_of(m) is not None]
        if regroup and len(ids) >= 2:
            params = {"group_id": self.group_id, "item_ids": ids}
            if old_id is not None and not rebuild:
                params["item_group_id"] = old_id
            row, _ = VariantGroupLink.objects.update_or_create(
                user=self.user,
                store_id=group.store_id,
                group_id=group.group_id,
                defaults={"grouping": True},
            )
            planned.append((VkCall("market.groupItems", params), self._grouped(row, ids)))
        return planned

    def _record(self, member: Member, ids: list[int] | None) -> None:
        VariantMember.objects.update_or_create(
            user=self.user,
            store_id=member.store_id,
            product_id=member.product_id,
            defaults={
                "vk_item_id": member.vk_item_id,
                "choices": [list(pair) for pair in member.choices],
                "variant_ids": ids or [],
                "is_main": member.is_main,
            },
        )

    def _edited(self, member: Member, ids: list[int]):
        def handle(results: list[VkCallResult]) -> None:
            (result,) = results
            if result.ok:
                self._record(member, ids)
            else:
                self.note_stop(result.error)

        return handle

    def _ungrouped(self, group: VariantGroupPlan):
        def handle(results: list[VkCallResult]) -> None:
            (result,) = results
            if result.ok or getattr(result.error, "code", None) == GROUP_GONE:
                VariantGroupLink.objects.filter(
                    user=self.user, store_id=group.store_id, group_id=group.group_id
                ).update(vk_item_group_id=None, item_ids=[])
            else:
                self.note_stop(result.error)

        return handle

    def _grouped(self, row: VariantGroupLink, ids: list[int]):
        def handle(results: list[VkCallResult]) -> None:
            (result,) = results
            if result.ok:
                row.vk_item_group_id = result.value["item_group_id"]
                row.item_ids = sorted(ids)
                row.grouping = False
                row.save(update_fields=["vk_item_group_id", "item_ids", "grouping", "updated_at"])
            else:
                logger.info("VK refused a grouping", extra={"code": result.error.code})
                self.note_stop(result.error)

        return handle
