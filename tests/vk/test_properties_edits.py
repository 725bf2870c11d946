"""The rest of issue 14's VK surface in the sandbox, checked against VK's JSON schema like the
rest: renaming and deleting properties and property variants (sandbox/vk/properties.py), and
`stock_amount` on items (sandbox/vk/state.py) within VK's −1..999 999."""

import pytest

from tests.vk import vk_schema
from tests.vk.test_properties import GROUP, OWNER, api, checked, error_code, new_item


@pytest.fixture
def sizes(vk):
    prop = checked("market.addProperty", group_id=GROUP, title="Размер")["property_id"]
    ids = [
        checked("market.addPropertyVariant", group_id=GROUP, property_id=prop, title=t)[
            "variant_id"
        ]
        for t in ("S", "M")
    ]
    return prop, ids


def listed() -> dict:
    items = checked("market.getProperties", group_id=GROUP)["items"]
    return {item["title"]: [v["title"] for v in item["variants"]] for item in items}


def item(item_id: int) -> dict:
    return checked("market.getById", item_ids=f"{OWNER}_{item_id}")["items"][0]


# --- properties and their variants ----------------------------------------------------------------
def test_a_property_renamed_keeps_its_variants(sizes):
    prop, _ = sizes
    assert checked("market.editProperty", group_id=GROUP, property_id=prop, title="Рост") == 1
    assert listed() == {"Рост": ["S", "M"]}


def test_a_variant_renamed_in_place(sizes):
    _, (small, _medium) = sizes
    checked("market.editPropertyVariant", group_id=GROUP, variant_id=small, title="XS")
    assert listed() == {"Размер": ["XS", "M"]}


def test_a_deleted_variant_leaves_its_items_and_their_group(sizes):
    _, (small, medium) = sizes
    a, b = new_item(variant_ids=small, is_main_variant=1), new_item(variant_ids=medium)
    checked("market.groupItems", group_id=GROUP, item_ids=f"{a},{b}")
    assert checked("market.deletePropertyVariant", group_id=GROUP, variant_id=small) == 1
    assert listed() == {"Размер": ["M"]}
    assert "variants_grouping_id" not in item(a)
    assert error_code("market.deletePropertyVariant", group_id=GROUP, variant_id=small) == 1416


def test_a_deleted_property_takes_its_variants(sizes):
    prop, (small, _medium) = sizes
    assert checked("market.deleteProperty", group_id=GROUP, property_id=prop) == 1
    assert listed() == {}
    assert error_code("market.editProperty", group_id=GROUP, property_id=prop, title="x") == 1417
    assert error_code(
        "market.editPropertyVariant", group_id=GROUP, variant_id=small, title="S"
    ) == (1416)


def test_a_property_title_is_required_when_renaming(sizes):
    prop, _ = sizes
    body = api("market.editProperty", group_id=GROUP, property_id=prop)
    assert body["error"]["error_code"] == 100


# --- stock_amount ---------------------------------------------------------------------------------
@pytest.mark.parametrize("amount", [-1, 0, 3, 999_999])
def test_stock_amount_within_vks_range_is_kept_and_shown(vk, amount):
    item_id = new_item(stock_amount=amount)
    assert item(item_id)["stock_amount"] == amount


def test_stock_amount_is_changed_by_an_edit(vk):
    item_id = new_item(stock_amount=5)
    checked("market.edit", owner_id=OWNER, item_id=item_id, stock_amount=2)
    assert item(item_id)["stock_amount"] == 2


@pytest.mark.parametrize("amount", [-2, 1_000_000, "много"])
def test_stock_amount_out_of_range_is_refused_and_nothing_is_made(vk, amount):
    before = checked("market.get", owner_id=OWNER)["count"]
    body = api(
        "market.add",
        owner_id=OWNER,
        name="Футболка хлопок",
        description="Футболка из хлопка",
        category_id=40010,
        price=990,
        stock_amount=amount,
    )
    assert body["error"]["error_code"] == 100
    vk_schema.validate_error(body["error"])
    # VK's schema refuses the same value: the sandbox is no looser and no stricter.
    assert vk_schema.parameter_problems("market.add", {"stock_amount": str(amount)})
    assert checked("market.get", owner_id=OWNER)["count"] == before
