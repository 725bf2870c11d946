"""The preview's rows of products with variants: in each section, the items of one Evotor
modification group are one row listing its variants (choice, main mark, price, stock, each
one's own changes), plain products keep a row each (sync/preview_rows.py makes the rows,
sync/plan/variants.py says which product is which variant and what VK cannot express).

Sections show their first rows and paginate by rows, so a group is never split between the
first page and the next: `units` gathers the items first, `grouped` then folds the rows.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from django.utils.translation import gettext_lazy

from evosync.formats import money_text
from sync.plan import variants as v

# How the plan publishes what VK cannot show as variants (sync.plan.variants NOTE_*).
SEPARATE_NOTES = {
    v.NOTE_TOO_MANY_ATTRIBUTES: gettext_lazy(
        "more than two properties: VK cannot show them as variants, published as a separate item"
    ),
    v.NOTE_NO_CHOICE: gettext_lazy(
        "no choice set for every property: published as a separate item"
    ),
    v.NOTE_SAME_CHOICES: gettext_lazy(
        "the same choices as another modification: published as a separate item"
    ),
    v.NOTE_TOO_MANY_VARIANTS: gettext_lazy(
        "VK's limit of 50 variants per property reached: published as a separate item"
    ),
}
# Said on a new variant's own line, so left out of its list of changes.
LINE_FIELDS = ("price", "stock_amount")


@dataclass(frozen=True)
class VariantLine:
    """One variant in its product's row: the item's row, and what the line says first."""

    row: object  # sync.preview_rows.Row
    choice: str  # "M", or "M / красный" with two properties
    is_main: bool
    waiting: bool  # kept out until fixed: joins the product once sent
    price: str
    stock: int | None  # the count shown in VK; None when not published
    changes: list  # the row's changes less the ones said on the line or for every variant


@dataclass(frozen=True)
class GroupRow:
    """The items of one product with variants in a section."""

    group_id: str
    name: str
    properties: tuple[str, ...]
    picture: object  # the main variant's (or the first one's) ItemPicture
    lines: list[VariantLine]
    common: list  # changes the same for every variant listed
    total: int  # the product's variants in all (the section may list fewer)


def _members(plan) -> dict[tuple[str, str], tuple[object, object, int, bool]]:
    """(store id, product id) → (group, member, position in Evotor's order, waiting)."""
    found = {}
    for group in plan.variants.groups:
        for position, member in enumerate([*group.members, *group.waiting]):
            waiting = position >= len(group.members)
            found[member.key] = (group, member, position, waiting)
    return found


def units(plan, items) -> list[list]:
    """The items as the section's rows will hold them: a group's items together, at the place
    of its first one; any other item alone."""
    members = _members(plan)
    result: list[list] = []
    at: dict[tuple[str, str], int] = {}
    for item in items:
        found = members.get(item.key)
        if found is None:
            result.append([item])
        elif found[0].key in at:
            result[at[found[0].key]].append(item)
        else:
            at[found[0].key] = len(result)
            result.append([item])
    return result


def stream_units(plan, items: Iterable, expected: Counter) -> Iterator[list]:
    """`units` of a section whose items come one at a time in plan order (a preview kept from
    a plan built in chunks, sync/preview_store.py): a group's row is given once its last item
    came, `expected` telling how many of each group's items the section has; the rows after
    it wait until then, so the order is `units`'."""
    members = _members(plan)
    pending: deque = deque()  # [row's items, group key or None], in order
    left: dict[tuple[str, str], list] = {}  # group key → [row's items, items still to come]
    for item in items:
        found = members.get(item.key)
        if found is None:
            pending.append(([item], None))
        elif found[0].key in left:
            entry = left[found[0].key]
            entry[0].append(item)
            entry[1] -= 1
        else:
            entry = left[found[0].key] = [[item], expected[found[0].key] - 1]
            pending.append((entry[0], found[0].key))
        while pending and (pending[0][1] is None or left[pending[0][1]][1] <= 0):
            yield pending.popleft()[0]
    while pending:
        yield pending.popleft()[0]


def group_counts(plan, sections: dict[tuple[str, str], str]) -> dict[str, Counter]:
    """{section: {group key: how many of its items the section has}} from the sections of the
    variant members' items."""
    members = _members(plan)
    counts: dict[str, Counter] = {}
    for key, section in sections.items():
        if key in members:
            counts.setdefault(section, Counter())[members[key][0].key] += 1
    return counts


def grouped(plan, rows: list) -> list:
    """`rows` with those of one product with variants folded into one GroupRow; a product
    published as a separate item says why on its own row."""
    members = _members(plan)
    result: list = []
    gathered: dict[tuple[str, str], list] = {}
    for row in rows:
        found = members.get(row.item.key)
        if found is None:
            note = plan.variants.separate.get(row.item.key)
            if note:
                row = replace(row, separate=str(SEPARATE_NOTES.get(note, note)))
            result.append(row)
            continue
        key = found[0].key
        if key not in gathered:
            gathered[key] = []
            result.append(key)
        gathered[key].append((found, row))
    return [_group_row(gathered[entry]) if isinstance(entry, tuple) else entry for entry in result]


def _group_row(pairs) -> GroupRow:
    pairs = sorted(pairs, key=lambda pair: pair[0][2])
    group = pairs[0][0][0]
    common = _common_changes([row for _found, row in pairs])
    lines = [
        _line(row, member, waiting=waiting, common=common)
        for (_group, member, _position, waiting), row in pairs
    ]
    main = next((line.row for line in lines if line.is_main), lines[0].row)
    return GroupRow(
        group_id=group.group_id,
        name=group.name,
        properties=group.properties,
        picture=main.picture,
        lines=lines,
        common=common,
        total=len(group.members) + len(group.waiting),
    )


def _change_key(change) -> tuple:
    return (change.field, str(change.old), str(change.new))


def _common_changes(rows) -> list:
    """The changes every listed variant has alike (a category, an album), said once."""
    if len(rows) < 2 or any(row.flags for row in rows):
        return []
    shared = set.intersection(*({_change_key(c) for c in row.changes} for row in rows))
    return [c for c in rows[0].changes if _change_key(c) in shared]


def _line(row, member, *, waiting: bool, common: list) -> VariantLine:
    fields = row.item.desired.fields if row.item.desired is not None else {}
    new_item = row.item.action == "create"
    said = {_change_key(c) for c in common}
    changes = [
        c
        for c in row.changes
        if _change_key(c) not in said and not (new_item and c.field in LINE_FIELDS)
    ]
    # A price or stock said for every variant, or changing (old → new among the changes), is
    # not said again on the line.
    changing = {c.field for c in changes if c.old not in (None, "")} | {c.field for c in common}
    price = money_text(fields["price"]) if fields.get("price") and "price" not in changing else ""
    stock = fields.get("stock_amount")
    if not isinstance(stock, int) or stock < 0 or "stock_amount" in changing:
        stock = None  # not published (-1), or said among the changes
    return VariantLine(
        row=row,
        choice=" / ".join(value for _name, value in member.choices),
        is_main=member.is_main and not waiting,
        waiting=waiting,
        price=price,
        stock=stock,
        changes=changes,
    )
