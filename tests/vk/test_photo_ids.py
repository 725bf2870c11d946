"""`photo_ids` in the VK sandbox (issue 14 part 2; docs/contracts/vk-market-api.md §3: up to 4
besides `main_photo_id`, a market photo belongs to one item): accepted within VK's limits,
shown main first, refused as VK refuses them (error 100 with VK's own text)."""

from __future__ import annotations

import pytest

from connections.vk_errors import VkApiError
from tests.vk import vk_schema


def photos(vk_client, group_id, png, count):
    return [vk_client.upload_product_photo(group_id, png) for _ in range(count)]


def add(vk_client, owner_id, main, extra):
    return vk_client.call(
        "market.add",
        owner_id=owner_id,
        name="Торт «Наполеон»",
        description="Слоёный торт с заварным кремом, 1 кг.",
        category_id=40001,
        price=990,
        main_photo_id=main,
        photo_ids=extra,
    )["market_item_id"]


def item_photos(vk_client, owner_id, item_id):
    body = vk_client.call("market.getById", item_ids=[f"{owner_id}_{item_id}"], extended=True)
    vk_schema.validate_response("market.getById", {"response": body}, extended=True)
    return [photo["id"] for photo in body["items"][0]["photos"]]


def test_a_main_photo_and_four_more_are_shown_main_first(vk_client, group_id, owner_id, evotor_png):
    main, *extra = photos(vk_client, group_id, evotor_png, 5)
    item_id = add(vk_client, owner_id, main, extra)
    assert item_photos(vk_client, owner_id, item_id) == [main, *extra]


def test_five_extra_photos_are_refused_and_nothing_is_made(
    vk, vk_client, group_id, owner_id, evotor_png
):
    main, *extra = photos(vk_client, group_id, evotor_png, 6)
    before = len(vk.items(group_id))
    with pytest.raises(VkApiError) as refused:
        add(vk_client, owner_id, main, extra)
    assert refused.value.code == 100
    assert "photo_ids should contain at most 4 items" in str(refused.value)
    assert len(vk.items(group_id)) == before


def test_a_photo_of_another_community_is_refused(vk, vk_client, group_id, owner_id, evotor_png):
    vk.add_group(200010, "Второй магазин")
    (theirs,) = photos(vk_client, 200010, evotor_png, 1)
    (main,) = photos(vk_client, group_id, evotor_png, 1)
    with pytest.raises(VkApiError) as refused:
        add(vk_client, owner_id, main, [theirs])
    assert refused.value.code == 100
    assert "photo not found or already assigned to another item" in str(refused.value)


def test_a_photo_of_another_item_is_refused(vk_client, group_id, owner_id, evotor_png):
    first_main, shared, second_main = photos(vk_client, group_id, evotor_png, 3)
    add(vk_client, owner_id, first_main, [shared])
    with pytest.raises(VkApiError) as refused:
        add(vk_client, owner_id, second_main, [shared])
    assert "photo not found or already assigned to another item" in str(refused.value)


def test_an_edit_replaces_the_extra_photos_in_the_order_sent(
    vk_client, group_id, owner_id, evotor_png
):
    main, one, two, three = photos(vk_client, group_id, evotor_png, 4)
    item_id = add(vk_client, owner_id, main, [one])
    vk_client.call("market.edit", owner_id=owner_id, item_id=item_id, photo_ids=[three, two])
    assert item_photos(vk_client, owner_id, item_id) == [main, three, two]
