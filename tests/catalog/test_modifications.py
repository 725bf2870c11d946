"""Modification groups read from the cached Evotor payloads (catalog/modifications.py)."""

from catalog.modifications import parse_attributes, parse_choices


def test_a_groups_attributes_are_read_in_evotors_order():
    raw = {
        "attributes": [
            {
                "id": "a1",
                "name": "Размер",
                "choices": [{"id": "c1", "name": "S"}, {"id": "c2", "name": "M"}],
            }
        ]
    }
    (attribute,) = parse_attributes(raw)
    assert attribute.name == "Размер"
    assert attribute.choices == (("c1", "S"), ("c2", "M"))
    assert attribute.choice_name("c2") == "M" and attribute.choice_name("zz") is None


def test_a_plain_group_has_no_attributes():
    assert parse_attributes({"name": "Напитки"}) == ()
    assert parse_attributes(None) == ()


def test_bad_attribute_entries_are_left_out():
    raw = {"attributes": ["x", {"name": "no id"}, {"id": "a", "name": "Вкус", "choices": [{}]}]}
    (attribute,) = parse_attributes(raw)
    assert attribute.id == "a" and attribute.choices == ()


def test_a_products_choices_are_read():
    assert parse_choices({"attributes_choices": {"a1": "c2"}}) == {"a1": "c2"}
    assert parse_choices({"attributes_choices": "bad"}) == {}
    assert parse_choices({}) == {}
