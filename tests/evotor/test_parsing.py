"""Parsing Evotor's JSON: samples quoted in docs/contracts/evotor-api.md §5 and the edge cases around them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connections.evotor_client import (
    EvotorBadResponse,
    parse_group,
    parse_image,
    parse_product,
    parse_store,
    parse_timestamp,
    to_epoch_ms,
)

# Real v2 objects from a live store (docs/contracts/evotor-api.md §5.2, §5.3; source S9).
REAL_PRODUCT = {
    "type": "NORMAL",
    "name": "SHEBA ... 85г",
    "code": "1992",
    "price": 31,
    "cost_price": 0,
    "quantity": 0,
    "measure_name": "шт",
    "tax": "NO_VAT",
    "allow_to_sell": True,
    "description": "",
    "article_number": "",
    "parent_id": "63fecd7e-0000-4000-8000-000000000000",
    "id": "b922dc10-359a-4520-84e7-43811e794fb5",
    "store_id": "20180608-EEA0-408D-807D-6AB73272E383",
    "user_id": "01-000000000910281",
    "created_at": "2019-08-12T09:49:49.651+0000",
    "updated_at": "2019-08-12T09:49:49.669+0000",
    "barcodes": ["4607065737023"],
}
REAL_GROUP = {
    "parent_id": "ec1e3697-3f81-4173-aa72-dc7e0cc02455",
    "name": "Витамины",
    "id": "dcec0f8b-016e-414b-af44-4d8956c91bbf",
    "store_id": "20180608-EEA0-408D-807D-6AB73272E383",
    "user_id": "01-000000000910281",
    "created_at": "2018-06-23T12:25:15.872+0000",
    "updated_at": "2019-04-13T07:58:19.526+0000",
}
STORE_ID = "20180608-EEA0-408D-807D-6AB73272E383"


def test_a_real_product_is_parsed():
    product = parse_product(REAL_PRODUCT, STORE_ID)
    assert product.price == Decimal(31)
    assert product.cost_price == Decimal(0)
    assert product.quantity == Decimal(0)
    assert product.barcodes == ("4607065737023",)
    assert product.parent_id == "63fecd7e-0000-4000-8000-000000000000"
    assert product.updated_at == datetime(2019, 8, 12, 9, 49, 49, 669000, tzinfo=UTC)
    assert product.raw is REAL_PRODUCT


def test_a_real_group_is_parsed():
    group = parse_group(REAL_GROUP, STORE_ID)
    assert (group.name, group.parent_id) == ("Витамины", "ec1e3697-3f81-4173-aa72-dc7e0cc02455")
    assert group.updated_at == datetime(2019, 4, 13, 7, 58, 19, 526000, tzinfo=UTC)


def test_a_store_from_the_sdk_fixture_is_parsed():
    store = parse_store(
        {
            "id": "20170228-F4F1-401B-80FA-9ECCA8451FFB",
            "name": "Мой магазин",
            "address": "Россия, г. Москва",
            "created_at": "2018-04-17T10:11:49.393+0000",
            "updated_at": "2018-07-16T16:00:10.663+0000",
        }
    )
    assert store.name == "Мой магазин"
    assert store.updated_at.year == 2018


def test_unknown_types_and_taxes_pass_through():
    product = parse_product({**REAL_PRODUCT, "type": "SHOES_MARKED", "tax": "VAT_22"}, STORE_ID)
    assert (product.type, product.tax) == ("SHOES_MARKED", "VAT_22")


def test_absent_optional_fields_get_neutral_values():
    product = parse_product({"id": "p1", "name": "Услуга", "type": "SERVICE", "price": 10.5}, "s")
    assert product.price == Decimal("10.5")
    assert product.quantity is None and product.cost_price is None
    assert product.barcodes == () and product.description == "" and product.allow_to_sell
    assert product.parent_id is None and product.updated_at is None


def test_a_product_without_an_id_is_a_bad_response():
    with pytest.raises(EvotorBadResponse):
        parse_product({**REAL_PRODUCT, "id": ""}, STORE_ID)


def test_a_price_that_is_not_a_number_is_a_bad_response():
    with pytest.raises(EvotorBadResponse):
        parse_product({**REAL_PRODUCT, "price": "дорого"}, STORE_ID)


def test_image_meta_is_read():
    image = parse_image(
        {
            "id": "i1",
            "product_id": "p1",
            "url": "https://img.example/1.png",
            "meta": {"extension": "png", "file_size": 1000, "width": 300, "height": 300},
        },
        "p1",
    )
    assert (image.url, image.width, image.height) == ("https://img.example/1.png", 300, 300)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2018-09-11T16:18:35.397+0000", datetime(2018, 9, 11, 16, 18, 35, 397000, tzinfo=UTC)),
        ("2018-09-11T19:18:35.397+0300", datetime(2018, 9, 11, 16, 18, 35, 397000, tzinfo=UTC)),
        ("2018-09-11T16:18:35Z", datetime(2018, 9, 11, 16, 18, 35, tzinfo=UTC)),
        ("2018-09-11T16:18:35.397+00:00", datetime(2018, 9, 11, 16, 18, 35, 397000, tzinfo=UTC)),
        (1536682715397, datetime(2018, 9, 11, 16, 18, 35, 397000, tzinfo=UTC)),
        ("вчера", None),
        ("", None),
        (None, None),
    ],
)
def test_timestamps_in_evotor_format_and_neighbours(text, expected):
    assert parse_timestamp(text) == expected


def test_since_is_sent_in_milliseconds():
    assert to_epoch_ms(datetime(2018, 9, 11, 16, 18, 35, 397000, tzinfo=UTC)) == 1536682715397
    assert to_epoch_ms(datetime(2018, 9, 11, 16, 18, 35, 397000)) == 1536682715397
