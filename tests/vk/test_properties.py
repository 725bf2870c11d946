"""The VK sandbox's properties, property variants and item groups (sandbox/vk/properties.py),
answers checked against VK's schema (tests/vk/vk_api_schema/)."""

import pytest
import requests
from django.conf import settings

from tests.vk import vk_schema

GROUP = 200001
OWNER = -GROUP


def api(method, **params):
    data = {"v": "5.199", "access_token": "vk-demo-token", **params}
    return requests.post(f"{settings.VK_API_URL}/{method}", data=data, timeout=5).json()


def checked(method, **params):
    assert not vk_schema.parameter_problems(method, {k: str(v) for k, v in params.items()})
    body = api(method, **params)
    assert "response" in body, body
    vk_schema.validate_response(method, body)
    return body["response"]


def error_code(method, **params):
    body = api(method, **params)
    assert "error" in body, body
    vk_schema.validate_error(body["error"])
    return body["error"]["error_code"]


def new_item(name="Футболка хлопок", **params):
    return checked(
        "market.add",
        owner_id=OWNER,
        name=name,
        description="Футболка из хлопка",
        category_id=40010,
        price=990,
        **params,
    )["market_item_id"]


@pytest.fixture
def sizes(vk):
    prop = checked("market.addProperty", group_id=GROUP, title="Размер")["property_id"]
    ids = [
        checked("market.addPropertyVariant", group_id=GROUP, property_id=prop, title=t)[
            "variant_id"
        ]
        for t in ("S", "M", "L")
    ]
    return prop, ids


def test_properties_and_variants_are_listed(sizes):
    prop, _ids = sizes
    listed = checked("market.getProperties", group_id=GROUP)
    assert listed["count"] == 1
    assert listed["items"][0]["id"] == prop
    assert [v["title"] for v in listed["items"][0]["variants"]] == ["S", "M", "L"]


def test_a_variant_of_an_unknown_property_is_1417(vk):
    assert (
        error_code("market.addPropertyVariant", group_id=GROUP, property_id=999, title="S") == 1417
    )


def test_a_variant_title_over_60_is_1423(sizes):
    prop, _ = sizes
    assert (
        error_code("market.addPropertyVariant", group_id=GROUP, property_id=prop, title="x" * 61)
        == 1423
    )


def test_a_property_takes_50_variants_then_1419(vk, sizes):
    prop, _ = sizes
    vk.set_rate_limit(10_000)  # 50 calls in a row; the limit is not what this test is about
    for n in range(47):
        checked("market.addPropertyVariant", group_id=GROUP, property_id=prop, title=f"v{n}")
    assert (
        error_code("market.addPropertyVariant", group_id=GROUP, property_id=prop, title="one more")
        == 1419
    )


def test_an_item_takes_at_most_two_variant_ids(sizes):
    _, ids = sizes
    body = api(
        "market.add",
        owner_id=OWNER,
        name="Футболка",
        description="Футболка из хлопка",
        category_id=40010,
        variant_ids=",".join(map(str, ids)),
    )
    assert body["error"]["error_code"] == 100


def test_two_variants_of_one_property_on_an_item_are_1426(sizes):
    _, ids = sizes
    body = api(
        "market.add",
        owner_id=OWNER,
        name="Футболка",
        description="Футболка из хлопка",
        category_id=40010,
        variant_ids=f"{ids[0]},{ids[1]}",
    )
    assert body["error"]["error_code"] == 1426


def test_an_unknown_variant_on_an_item_is_1416(vk):
    body = api(
        "market.add",
        owner_id=OWNER,
        name="Футболка",
        description="Футболка из хлопка",
        category_id=40010,
        variant_ids="777",
    )
    assert body["error"]["error_code"] == 1416


def test_grouped_items_show_their_group_and_one_main(sizes):
    _, ids = sizes
    a = new_item(variant_ids=ids[0], is_main_variant=0)
    b = new_item(variant_ids=ids[1], is_main_variant=1)
    grouping = checked("market.groupItems", group_id=GROUP, item_ids=f"{a},{b}")["item_group_id"]
    got = checked("market.getById", item_ids=f"{OWNER}_{a},{OWNER}_{b}")["items"]
    assert {i["variants_grouping_id"] for i in got} == {grouping}
    assert [i["is_main_variant"] for i in sorted(got, key=lambda i: i["id"])] == [False, True]


def test_a_group_of_one_is_1425(sizes):
    _, ids = sizes
    a = new_item(variant_ids=ids[0])
    assert error_code("market.groupItems", group_id=GROUP, item_ids=str(a)) == 1425


def test_an_item_without_variants_cannot_be_grouped_1415(sizes):
    _, ids = sizes
    a, b = new_item(variant_ids=ids[0]), new_item()
    assert error_code("market.groupItems", group_id=GROUP, item_ids=f"{a},{b}") == 1415


def test_two_items_with_the_same_variant_are_1426(sizes):
    _, ids = sizes
    a, b = new_item(variant_ids=ids[0]), new_item(variant_ids=ids[0])
    assert error_code("market.groupItems", group_id=GROUP, item_ids=f"{a},{b}") == 1426


def test_items_of_different_properties_are_1412(sizes):
    _, ids = sizes
    colour = checked("market.addProperty", group_id=GROUP, title="Цвет")["property_id"]
    red = checked("market.addPropertyVariant", group_id=GROUP, property_id=colour, title="Red")
    a, b = new_item(variant_ids=ids[0]), new_item(variant_ids=red["variant_id"])
    assert error_code("market.groupItems", group_id=GROUP, item_ids=f"{a},{b}") == 1412


def test_adding_to_a_group_keeps_it_and_refuses_a_duplicate_1413(sizes):
    _, ids = sizes
    a, b = new_item(variant_ids=ids[0]), new_item(variant_ids=ids[1])
    grouping = checked("market.groupItems", group_id=GROUP, item_ids=f"{a},{b}")["item_group_id"]
    c = new_item(variant_ids=ids[2])
    again = checked("market.groupItems", group_id=GROUP, item_ids=str(c), item_group_id=grouping)
    assert again["item_group_id"] == grouping
    d = new_item(variant_ids=ids[2])
    assert (
        error_code("market.groupItems", group_id=GROUP, item_ids=str(d), item_group_id=grouping)
        == 1413
    )


def test_editing_a_grouped_item_to_a_taken_variant_is_1413(sizes):
    _, ids = sizes
    a, b = new_item(variant_ids=ids[0]), new_item(variant_ids=ids[1])
    checked("market.groupItems", group_id=GROUP, item_ids=f"{a},{b}")
    body = api("market.edit", owner_id=OWNER, item_id=b, variant_ids=ids[0])
    assert body["error"]["error_code"] == 1413


def test_deleting_an_item_breaks_a_group_of_two(sizes):
    _, ids = sizes
    a, b = new_item(variant_ids=ids[0]), new_item(variant_ids=ids[1])
    checked("market.groupItems", group_id=GROUP, item_ids=f"{a},{b}")
    checked("market.delete", owner_id=OWNER, item_id=b)
    (item,) = checked("market.getById", item_ids=f"{OWNER}_{a}")["items"]
    assert "variants_grouping_id" not in item


def test_ungrouping_twice_says_the_group_is_gone(sizes):
    _, ids = sizes
    a, b = new_item(variant_ids=ids[0]), new_item(variant_ids=ids[1])
    grouping = checked("market.groupItems", group_id=GROUP, item_ids=f"{a},{b}")["item_group_id"]
    assert checked("market.ungroupItems", group_id=GROUP, item_group_id=grouping) == 1
    assert error_code("market.ungroupItems", group_id=GROUP, item_group_id=grouping) == 1411


def test_regrouping_moves_items_out_of_their_old_group(sizes):
    _, ids = sizes
    a, b, c = (new_item(variant_ids=v) for v in ids)
    old = checked("market.groupItems", group_id=GROUP, item_ids=f"{a},{b},{c}")["item_group_id"]
    new = checked("market.groupItems", group_id=GROUP, item_ids=f"{a},{b}")["item_group_id"]
    got = {
        i["id"]: i
        for i in checked("market.getById", item_ids=f"{OWNER}_{a},{OWNER}_{b},{OWNER}_{c}")["items"]
    }
    assert got[a]["variants_grouping_id"] == new != old
    assert "variants_grouping_id" not in got[c]
