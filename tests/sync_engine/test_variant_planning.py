"""Planning products sold in variants (sync/plan/variants.py): pure data in and out."""

from sync.plan.variants import (
    NOTE_NO_CHOICE,
    NOTE_SAME_CHOICES,
    NOTE_SINGLE,
    NOTE_TOO_MANY_ATTRIBUTES,
    NOTE_TOO_MANY_VARIANTS,
    GroupSource,
    GroupState,
    MemberState,
    plan_variants,
)

STORE = "store-1"


def source(choices, attributes=(("Размер", ("S", "M", "L")),)):
    return GroupSource(STORE, "grp", "Футболка", tuple(attributes), choices)


def plan(src, *, vk_ids=None, creating=(), members=None, states=None, known=None, visible=None):
    visible = visible or {}
    items = {(STORE, pid): (f"Футболка {pid}", visible.get(pid, True)) for pid in src.choices}
    return plan_variants(
        sources=[src],
        items=items,
        vk_ids={(STORE, k): v for k, v in (vk_ids or {}).items()},
        creating={(STORE, k) for k in creating},
        members=members or {},
        group_states=states or {},
        known=known or {},
    )


TEES = {"s": {"Размер": "S"}, "m": {"Размер": "M"}, "l": {"Размер": "L"}}


def test_new_modifications_are_made_with_their_variants_and_one_main():
    result = plan(source(TEES), creating=TEES)
    (group,) = result.groups
    assert [m.choices for m in group.members] == [
        (("Размер", "S"),),
        (("Размер", "M"),),
        (("Размер", "L"),),
    ]
    assert [m.is_main for m in group.members] == [True, False, False]
    assert all(m.creating for m in group.members) and group.needs_grouping
    assert result.new_properties == ["Размер"]
    assert result.new_variants == [("Размер", "S"), ("Размер", "M"), ("Размер", "L")]


def test_the_main_variant_is_the_first_in_stock():
    result = plan(source(TEES), creating=TEES, visible={"s": False})
    assert [m.is_main for m in result.groups[0].members] == [False, True, False]


def test_nothing_changed_means_no_work():
    ids = {"s": 1, "m": 2, "l": 3}
    members = {
        (STORE, pid): MemberState(ids[pid], (("Размер", c["Размер"]),), pid == "s")
        for pid, c in TEES.items()
    }
    states = {(STORE, "grp"): GroupState(77, (1, 2, 3), False)}
    known = {"размер": {"s", "m", "l"}}
    result = plan(source(TEES), vk_ids=ids, members=members, states=states, known=known)
    assert not result.has_work and not result.new_variants


def test_a_renamed_choice_is_a_new_variant_and_an_edit():
    ids = {"s": 1, "m": 2, "l": 3}
    members = {
        (STORE, pid): MemberState(ids[pid], (("Размер", c["Размер"]),), pid == "s")
        for pid, c in TEES.items()
    }
    renamed = {**TEES, "m": {"Размер": "Medium"}}
    attributes = (("Размер", ("S", "Medium", "L")),)
    result = plan(
        source(renamed, attributes),
        vk_ids=ids,
        members=members,
        states={(STORE, "grp"): GroupState(77, (1, 2, 3), False)},
        known={"размер": {"s", "m", "l"}},
    )
    assert result.new_variants == [("Размер", "Medium")]
    assert [m.change for m in result.groups[0].members] == ["", "variants", ""]


def test_three_attributes_are_separate_items():
    attributes = (("Размер", ("S",)), ("Цвет", ("Red",)), ("Рост", ("170",)))
    result = plan(
        source({"a": {"Размер": "S", "Цвет": "Red", "Рост": "170"}}, attributes), creating={"a"}
    )
    (group,) = result.groups
    assert group.note == NOTE_TOO_MANY_ATTRIBUTES and not group.members
    assert result.separate == {(STORE, "a"): NOTE_TOO_MANY_ATTRIBUTES}
    assert not result.new_properties


def test_a_modification_missing_a_choice_or_repeating_one_goes_alone():
    choices = {"s": {"Размер": "S"}, "x": {}, "s2": {"Размер": "S"}}
    result = plan(source(choices), creating=choices)
    assert result.separate == {(STORE, "x"): NOTE_NO_CHOICE, (STORE, "s2"): NOTE_SAME_CHOICES}
    assert result.groups[0].note == NOTE_SINGLE and not result.groups[0].needs_grouping


def test_a_property_full_of_variants_sends_the_newcomer_alone():
    known = {"размер": {f"v{n}" for n in range(50)}}
    result = plan(source({"s": {"Размер": "S"}}), creating={"s"}, known=known)
    assert result.separate == {(STORE, "s"): NOTE_TOO_MANY_VARIANTS}


def test_a_group_whose_member_left_is_rebuilt():
    ids = {"s": 1, "m": 2}
    two = {"s": TEES["s"], "m": TEES["m"]}
    members = {
        (STORE, pid): MemberState(ids[pid], (("Размер", c["Размер"]),), pid == "s")
        for pid, c in two.items()
    }
    result = plan(
        source(two),
        vk_ids=ids,
        members=members,
        states={(STORE, "grp"): GroupState(77, (1, 2, 3), False)},
        known={"размер": {"s", "m", "l"}},
    )
    assert result.groups[0].needs_grouping
