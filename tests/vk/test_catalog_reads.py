"""Reading a community's Market: albums and items parsed at the edge, in few requests."""

from datetime import datetime
from decimal import Decimal

from connections.vk_client import VkItem, kopecks_to_roubles, parse_item


def test_items_are_read_200_per_page_many_pages_per_request(vk, vk_client, owner_id, group_id):
    vk.generate_items(group_id, 1000, albums=3)
    items = list(vk_client.iter_items(owner_id, pages_per_request=2))
    assert len({item.id for item in items}) == 1000
    # One request learns the count; the other four pages go two per execute.
    assert vk_client.requests_made == 3
    assert vk.calls_by_method["market.get"] == 5


def test_a_large_catalog_takes_three_requests(vk, vk_client, owner_id, group_id):
    vk.generate_items(group_id, 5201)
    assert sum(1 for _ in vk_client.iter_items(owner_id)) == 5201
    assert vk_client.requests_made == 3  # the first page, then 25 pages, then the last one


def test_items_are_parsed_into_typed_objects(vk, vk_client, owner_id, group_id):
    album = vk.add_album(group_id, "Выпечка")
    vk.add_item(
        group_id,
        title="Пирожок",
        description="Пирожок с капустой, 100 г",
        price="45.50",
        old_price="60",
        sku="PIR-1",
        category_id=40001,
        album_ids=[album["id"]],
        with_photo=True,
        date=1_700_000_000,
    )
    vk.add_item(group_id, title="Скрытый товар", availability=2)
    hidden, item = list(vk_client.iter_items(owner_id))
    assert isinstance(item, VkItem)
    assert (item.title, item.description, item.sku) == (
        "Пирожок",
        "Пирожок с капустой, 100 г",
        "PIR-1",
    )
    assert item.price == Decimal("45.50") and item.old_price == Decimal("60.00")
    assert item.availability == 0 and hidden.availability == 2
    assert item.album_ids == (album["id"],)
    assert len(item.photo_ids) == 1 and item.thumb_url.startswith("http")
    assert item.category_id == 40001
    assert item.date == datetime.fromisoformat("2023-11-14T22:13:20+00:00")
    assert item.owner_id == owner_id and item.raw["id"] == item.id


def test_albums_are_read_100_per_request(vk, vk_client, owner_id, group_id):
    for n in range(150):
        vk.add_album(group_id, f"Подборка {n}")
    albums = list(vk_client.iter_albums(owner_id))
    assert [a.title for a in albums[:2]] == ["Подборка 0", "Подборка 1"]
    assert len(albums) == 150
    assert vk_client.requests_made == 2
    assert albums[0].count == 0 and not albums[0].is_hidden and albums[0].updated_time


def test_empty_market_is_one_request(vk, vk_client, owner_id):
    assert list(vk_client.iter_items(owner_id)) == []
    assert list(vk_client.iter_albums(owner_id)) == []
    assert vk_client.requests_made == 2


def test_parsing_tolerates_missing_or_odd_fields():
    item = parse_item({"id": 5, "price": {"amount": "oops"}, "category": {"id": "x"}})
    assert item.price == Decimal("0.00") and item.category_id is None and item.date is None
    assert kopecks_to_roubles("12345") == Decimal("123.45")
    assert kopecks_to_roubles(None) is None
