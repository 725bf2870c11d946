"""Products sold in variants: an Evotor modification group becomes one VK product with
variants. Pure: plain data in and out (the database side is sync/plan/variant_inputs.py, the
VK side sync/publish/variants.py).

docs/contracts/evotor-api.md §5.3 (a group with `attributes`, products with
`attributes_choices`) → docs/contracts/vk-market-api.md §13: one VK property per Evotor attribute
(by title, shared by the whole community: «Размер» is one filter), one property variant per
choice, each item made with its `variant_ids` and exactly one `is_main_variant`, the items
grouped by `market.groupItems`.

What VK cannot express is published as separate items, and the preview says why:
- more than two attributes (`variant_ids` ≤ 2): every modification of the group;
- a modification with no choice for an attribute, or the same choices as another: that one;
- a property past VK's 50 variants: the groups needing the extra ones.
A group of fewer than two items in VK is not grouped (VK refuses it, 1425); its items still
carry their variants, and are grouped as soon as a second one is there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sync.plan.text import clean_line, cut_to_units

MAX_PROPERTIES_PER_ITEM = 2  # variant_ids ≤ 2 (schema)
VARIANT_TITLE_MAX = 60  # addPropertyVariant.title (schema)
PROPERTY_TITLE_MAX = 60  # assumed: VK documents 1421 "Name too long" but not the limit
VARIANTS_PER_PROPERTY = 50  # contract notes §13

NOTE_TOO_MANY_ATTRIBUTES = "too_many_attributes"
NOTE_NO_CHOICE = "no_choice"
NOTE_SAME_CHOICES = "same_choices"
NOTE_TOO_MANY_VARIANTS = "too_many_variants"
NOTE_SINGLE = "single"  # fewer than two items: not grouped (yet)

Choices = tuple[tuple[str, str], ...]  # ((property title, variant title), …) in attribute order


@dataclass(frozen=True)
class GroupSource:
    """A modification group as the planner needs it: attribute names with their choices."""

    store_id: str
    group_id: str
    name: str
    attributes: tuple[tuple[str, tuple[str, ...]], ...]  # (name, choice names in order)
    # {product id: {attribute name: choice name}} for the selected modifications
    choices: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.store_id, self.group_id)


@dataclass(frozen=True)
class MemberState:
    """What a product's VK item was last given (VariantMember)."""

    vk_item_id: int
    choices: Choices
    is_main: bool


@dataclass(frozen=True)
class GroupState:
    """What VK's item group holds (VariantGroupLink)."""

    vk_item_group_id: int | None
    item_ids: tuple[int, ...]
    grouping: bool  # a groupItems left whose answer was not stored


@dataclass
class Member:
    store_id: str
    product_id: str
    product_name: str
    choices: Choices
    visible: bool
    is_main: bool = False
    vk_item_id: int | None = None  # None: made by this run (or not made)
    creating: bool = False  # market.add in this run carries the variants
    change: str = ""  # "variants" | "main" | "": what an edit must send

    @property
    def key(self) -> tuple[str, str]:
        return (self.store_id, self.product_id)


@dataclass
class VariantGroupPlan:
    store_id: str
    group_id: str
    name: str
    properties: tuple[str, ...]
    members: list[Member] = field(default_factory=list)
    separate: list[tuple[str, str, str]] = field(default_factory=list)  # (product id, name, note)
    note: str = ""
    needs_grouping: bool = False
    # Modifications with their variants that are neither in VK nor made by this run (a flag
    # keeps them out, sync.plan.rules): they join the group once fixed. For the preview.
    waiting: list[Member] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.store_id, self.group_id)

    @property
    def has_work(self) -> bool:
        return self.needs_grouping or any(m.creating or m.change for m in self.members)


@dataclass
class VariantPlan:
    groups: list[VariantGroupPlan] = field(default_factory=list)
    new_properties: list[str] = field(default_factory=list)
    new_variants: list[tuple[str, str]] = field(default_factory=list)
    # Products kept out of a group, by key: the note (for the preview's rows).
    separate: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def has_work(self) -> bool:
        return any(group.has_work for group in self.groups)


def property_title(name: str) -> str:
    return cut_to_units(clean_line(name), PROPERTY_TITLE_MAX)


def variant_title(name: str) -> str:
    return cut_to_units(clean_line(name), VARIANT_TITLE_MAX)


def plan_variants(
    *,
    sources: list[GroupSource],
    items: dict[tuple[str, str], tuple[str, bool]],
    vk_ids: dict[tuple[str, str], int | None],
    creating: set[tuple[str, str]],
    members: dict[tuple[str, str], MemberState],
    group_states: dict[tuple[str, str], GroupState],
    known: dict[str, set[str]],
) -> VariantPlan:
    """The variant groups of a run.

    sources: the modification groups with their selected products' choices; items: {product
    key: (name, visible)} of the selected products; vk_ids: their VK item ids (None: none yet);
    creating: the products this run's plan makes (market.add); members / group_states: what
    was published; known: {property title (casefolded): variant titles (casefolded)} made.
    """
    plan = VariantPlan()
    variant_count = {title: len(variants) for title, variants in known.items()}
    new_properties: dict[str, str] = {}
    new_variants: dict[tuple[str, str], tuple[str, str]] = {}
    for source in sorted(sources, key=lambda s: (s.store_id, s.name.casefold(), s.group_id)):
        titles = tuple(property_title(name) for name, _ in source.attributes)
        group = VariantGroupPlan(source.store_id, source.group_id, source.name, titles)
        selected = sorted(
            (pid for pid in source.choices if (source.store_id, pid) in items),
            key=lambda pid: _order(source, pid),
        )

        def separate(pid: str, note: str, source=source, group=group) -> None:
            name = items[(source.store_id, pid)][0]
            group.separate.append((pid, name, note))
            plan.separate[(source.store_id, pid)] = note

        if len(titles) > MAX_PROPERTIES_PER_ITEM or not all(titles):
            for pid in selected:
                separate(pid, NOTE_TOO_MANY_ATTRIBUTES)
            group.note = NOTE_TOO_MANY_ATTRIBUTES
            plan.groups.append(group)
            continue
        seen: set[Choices] = set()
        for pid in selected:
            picked = source.choices[pid]
            choices = tuple(
                (title, variant_title(picked.get(name, "")))
                for title, (name, _) in zip(titles, source.attributes, strict=True)
            )
            if any(not value for _, value in choices):
                separate(pid, NOTE_NO_CHOICE)
                continue
            if choices in seen:
                separate(pid, NOTE_SAME_CHOICES)
                continue
            missing = [
                (p, v)
                for p, v in choices
                if v.casefold() not in known.get(p.casefold(), set())
                and (p.casefold(), v.casefold()) not in new_variants
            ]
            if any(
                variant_count.get(p.casefold(), 0) + sum(1 for q, _ in missing if q == p)
                > VARIANTS_PER_PROPERTY
                for p, _ in missing
            ):
                separate(pid, NOTE_TOO_MANY_VARIANTS)
                continue
            for p, v in missing:
                variant_count[p.casefold()] = variant_count.get(p.casefold(), 0) + 1
                new_variants[(p.casefold(), v.casefold())] = (p, v)
                if p.casefold() not in known:
                    new_properties.setdefault(p.casefold(), p)
            seen.add(choices)
            key = (source.store_id, pid)
            name, visible = items[key]
            group.members.append(
                Member(source.store_id, pid, name, choices, visible, vk_item_id=vk_ids.get(key))
            )
        _plan_group(group, creating, members, group_states.get(group.key))
        plan.groups.append(group)
    plan.new_properties = list(new_properties.values())
    plan.new_variants = list(new_variants.values())
    return plan


def _order(source: GroupSource, product_id: str) -> tuple:
    """Evotor's order of choices (S, M, L), then the product id."""
    picked = source.choices[product_id]
    positions = []
    for name, choices in source.attributes:
        value = picked.get(name, "")
        positions.append(choices.index(value) if value in choices else len(choices))
    return (*positions, product_id)


def _plan_group(
    group: VariantGroupPlan,
    creating: set[tuple[str, str]],
    members: dict[tuple[str, str], MemberState],
    state: GroupState | None,
) -> None:
    """Main variant, what each item must be sent, and whether the VK group must change."""
    in_vk = [m for m in group.members if m.vk_item_id is not None or m.key in creating]
    group.waiting = [m for m in group.members if m.vk_item_id is None and m.key not in creating]
    group.members = in_vk
    if group.members:
        main = next((m for m in group.members if m.visible), group.members[0])
        main.is_main = True
    for member in group.members:
        if member.vk_item_id is None:
            member.creating = True
            continue
        published = members.get(member.key)
        if (
            published is None
            or published.vk_item_id != member.vk_item_id
            or published.choices != member.choices
        ):
            member.change = "variants"
        elif published.is_main != member.is_main:
            member.change = "main"
    if len(group.members) < 2:
        group.note = group.note or NOTE_SINGLE
        group.needs_grouping = bool(state and state.vk_item_group_id is not None)
        return
    wanted = {m.vk_item_id for m in group.members}
    group.needs_grouping = (
        state is None
        or state.grouping
        or state.vk_item_group_id is None
        or None in wanted
        or set(state.item_ids) != wanted
        or any(m.change == "variants" for m in group.members)
    )
