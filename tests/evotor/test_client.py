"""The Evotor client against the sandbox over real HTTP (docs/contracts/evotor-api.md §3-§6)."""

from __future__ import annotations

import io
import logging
import math
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from PIL import Image

from connections.evotor_client import (
    EvotorAuthError,
    EvotorBadResponse,
    EvotorClient,
    EvotorError,
    EvotorGroup,
    EvotorImage,
    EvotorProduct,
    EvotorRateLimited,
    EvotorStore,
    EvotorStoreUnavailable,
    EvotorUnavailable,
)
from sandbox.evotor.demo import DEMO_TOKEN

AFTER_DEMO = datetime(2025, 1, 1, tzinfo=UTC)  # the demo catalog was last changed in 2024


# --- reading the catalog -------------------------------------------------------------------------
def test_list_stores_returns_every_demo_store_typed(client_):
    stores = client_.list_stores()
    assert [s.name for s in stores] == ["Продукты у дома", "Кофейня «Зерно»", "Магазин на Садовой"]
    assert all(isinstance(s, EvotorStore) for s in stores)
    assert stores[0].address.startswith("Россия")
    assert stores[0].updated_at.tzinfo is not None


def test_iter_products_follows_the_cursor_across_pages(make_client, evotor_sandbox, demo_stores):
    client = make_client(page_size=50)
    expected = evotor_sandbox.products(demo_stores["shop"])
    products = list(client.iter_products(demo_stores["shop"]))
    assert [p.id for p in products] == [row["id"] for row in expected]
    assert evotor_sandbox.requests_by_kind["products"] == math.ceil(len(expected) / 50)
    later_pages = [r for r in evotor_sandbox.request_log if r["kind"] == "products"][1:]
    assert later_pages and all(set(r["query"]) == {"cursor"} for r in later_pages)


def test_iter_products_fetches_one_page_at_a_time(make_client, evotor_sandbox, demo_stores):
    products = make_client(page_size=10).iter_products(demo_stores["shop"])
    first = next(products)
    assert isinstance(first, EvotorProduct)
    assert evotor_sandbox.requests_by_kind["products"] == 1
    for _ in range(10):
        next(products)
    assert evotor_sandbox.requests_by_kind["products"] == 2


def test_a_generated_catalog_is_read_in_pages_of_a_thousand(client_, evotor_sandbox):
    (store_id,) = evotor_sandbox.generate(products=2500, stores=1)
    count = sum(1 for _ in client_.iter_products(store_id))
    assert count == 2500
    assert evotor_sandbox.requests_by_kind["products"] == 3


def test_products_are_parsed_into_typed_fields(client_, evotor_sandbox, demo_stores):
    products = {p.id: p for p in client_.iter_products(demo_stores["shop"])}
    raw = {row["id"]: row for row in evotor_sandbox.products(demo_stores["shop"])}
    with_kopecks = next(p for p in products.values() if p.price != p.price.to_integral_value())
    assert with_kopecks.price == Decimal(str(raw[with_kopecks.id]["price"]))
    assert isinstance(with_kopecks.price, Decimal)
    service = next(p for p in products.values() if p.type == "SERVICE")
    assert service.quantity is None and service.cost_price is None
    assert service.parent_id is None
    weighed = next(p for p in products.values() if p.measure_name == "кг")
    assert isinstance(weighed.quantity, Decimal)
    assert any(p.quantity == 0 for p in products.values())
    assert any(not p.allow_to_sell for p in products.values())
    assert any(len(p.barcodes) == 2 for p in products.values())
    assert all(isinstance(p.barcodes, tuple) for p in products.values())
    assert all(p.store_id == demo_stores["shop"] for p in products.values())
    assert all(p.updated_at and p.updated_at.year == 2024 for p in products.values())


def test_groups_form_a_nested_tree(client_, demo_stores):
    groups = list(client_.iter_groups(demo_stores["shop"]))
    assert all(isinstance(g, EvotorGroup) for g in groups)
    by_id = {g.id: g for g in groups}
    tea = next(g for g in groups if g.name == "Чай")
    parent = by_id[tea.parent_id]
    assert parent.name == "Чай и кофе"
    assert by_id[parent.parent_id].name == "Напитки"
    assert by_id[parent.parent_id].parent_id is None
    assert not tea.is_modification_group


def test_since_reads_only_what_changed_and_only_in_the_first_request(
    make_client, evotor_sandbox, demo_stores
):
    shop = demo_stores["shop"]
    first, second = evotor_sandbox.products(shop)[:2]
    evotor_sandbox.set_product(shop, first["id"], price="99.90")
    evotor_sandbox.set_product(shop, second["id"], name="Сок яблочный «Новый» 1 л")
    evotor_sandbox.reset_counters()

    changed = list(make_client(page_size=1).iter_products(shop, since=AFTER_DEMO))

    assert [p.id for p in changed] == [first["id"], second["id"]]
    assert changed[0].price == Decimal("99.90")
    assert changed[1].name == "Сок яблочный «Новый» 1 л"
    requests = [r for r in evotor_sandbox.request_log if r["kind"] == "products"]
    assert requests[0]["query"] == {"since": str(int(AFTER_DEMO.timestamp() * 1000)), "limit": "1"}
    assert all(set(r["query"]) == {"cursor"} for r in requests[1:])


def test_since_works_for_groups_too(client_, evotor_sandbox, demo_stores):
    shop = demo_stores["shop"]
    evotor_sandbox.add_group(shop, name="Новинки")
    assert [g.name for g in client_.iter_groups(shop, since=AFTER_DEMO)] == ["Новинки"]


def test_products_removed_at_the_till_disappear_from_the_list(client_, evotor_sandbox, demo_stores):
    shop = demo_stores["shop"]
    gone = evotor_sandbox.products(shop)[5]["id"]
    evotor_sandbox.remove_product(shop, gone)
    assert gone not in {p.id for p in client_.iter_products(shop)}


@pytest.mark.parametrize(
    ("style", "seen"), [("bearer", "bearer"), ("x-authorization", "x-authorization")]
)
def test_both_auth_header_styles_reach_the_catalog(
    settings, make_client, evotor_sandbox, style, seen
):
    settings.EVOTOR_AUTH_HEADER = style
    assert len(make_client().list_stores()) == 3
    (request,) = evotor_sandbox.request_log
    assert request["auth"] == seen
    assert request["accept"] == "application/vnd.evotor.v2+json"


def test_an_unknown_auth_header_setting_is_a_clear_configuration_error(settings, evotor_sandbox):
    settings.EVOTOR_AUTH_HEADER = "cookie"
    with pytest.raises(ImproperlyConfigured, match="EVOTOR_AUTH_HEADER"):
        EvotorClient(DEMO_TOKEN)


def test_images_are_listed_with_their_size_and_downloaded(client_, evotor_sandbox, demo_stores):
    shop = demo_stores["shop"]
    with_image = next(
        p["id"] for p in evotor_sandbox.products(shop) if client_.list_product_images(shop, p["id"])
    )
    (image,) = client_.list_product_images(shop, with_image)
    assert isinstance(image, EvotorImage)
    assert (image.width, image.height, image.product_id) == (300, 300, with_image)
    picture = Image.open(io.BytesIO(client_.download_image(image.url)))
    assert picture.format == "PNG" and picture.size == (300, 300)


def test_a_product_without_a_picture_has_no_images(client_, evotor_sandbox, demo_stores):
    cafe = demo_stores["cafe"]
    product = evotor_sandbox.add_product(cafe, name="Пончик", price=60)
    assert client_.list_product_images(cafe, product["id"]) == []
    evotor_sandbox.remove_product(cafe, product["id"])
    assert client_.list_product_images(cafe, product["id"]) == []


def test_the_token_is_not_sent_to_image_hosts_other_than_evotor(
    client_, evotor_sandbox, demo_stores, sandbox_server, settings
):
    settings.EVOTOR_IMAGE_HOSTS = ["localhost"]
    cafe = demo_stores["cafe"]
    product = evotor_sandbox.add_product(cafe, name="Маффин", price=150, image=True)
    (image,) = client_.list_product_images(cafe, product["id"])
    foreign = image.url.replace("127.0.0.1", "localhost")
    evotor_sandbox.reset_counters()
    assert client_.download_image(foreign).startswith(b"\x89PNG")
    assert evotor_sandbox.request_log[-1]["auth"] == "none"


# --- failures ------------------------------------------------------------------------------------
def test_a_revoked_token_raises_auth_error_without_the_token_in_it(client_, evotor_sandbox, caplog):
    evotor_sandbox.fail("401")
    with caplog.at_level(logging.DEBUG), pytest.raises(EvotorAuthError) as raised:
        client_.list_stores()
    assert raised.value.status == 401
    assert DEMO_TOKEN not in str(raised.value)
    assert DEMO_TOKEN not in caplog.text


def test_an_unknown_token_raises_auth_error(make_client):
    with pytest.raises(EvotorAuthError):
        make_client("0f0e0d0c-0000-4000-8000-000000000000").list_stores()


def test_a_store_answering_402_is_reported_alone_and_the_others_still_read(client_, demo_stores):
    with pytest.raises(EvotorStoreUnavailable) as raised:
        list(client_.iter_products(demo_stores["unpaid"]))
    assert raised.value.store_id == demo_stores["unpaid"]
    assert raised.value.status == 402
    assert len(list(client_.iter_products(demo_stores["cafe"]))) > 0


def test_a_store_answering_403_is_unavailable_too(client_, evotor_sandbox, demo_stores):
    evotor_sandbox.fail("403", store_id=demo_stores["cafe"])
    with pytest.raises(EvotorStoreUnavailable) as raised:
        list(client_.iter_groups(demo_stores["cafe"]))
    assert (raised.value.store_id, raised.value.status) == (demo_stores["cafe"], 403)
    assert list(client_.iter_groups(demo_stores["shop"]))


def test_403_on_the_store_list_means_the_token_gives_no_access(client_, evotor_sandbox):
    evotor_sandbox.fail("403", path="/stores")
    with pytest.raises(EvotorAuthError) as raised:
        client_.list_stores()
    assert raised.value.status == 403


def test_rate_limit_waits_for_the_reset_and_goes_on(client_, evotor_sandbox, sleeps):
    evotor_sandbox.fail("429", count=2, reset=7)
    assert len(client_.list_stores()) == 3
    assert sleeps == [7, 7]


def test_rate_limit_longer_than_we_wait_is_reported(client_, evotor_sandbox, sleeps):
    evotor_sandbox.fail("429", count=1, reset=1800)
    with pytest.raises(EvotorRateLimited) as raised:
        client_.list_stores()
    assert raised.value.retry_after == 1800
    assert sleeps == []


def test_a_rate_limit_that_never_lifts_is_reported_after_a_few_waits(
    client_, evotor_sandbox, sleeps
):
    evotor_sandbox.fail("429", reset=2)
    with pytest.raises(EvotorRateLimited):
        client_.list_stores()
    assert sleeps == [2] * 5


def test_server_errors_are_retried_then_succeed(client_, evotor_sandbox):
    evotor_sandbox.fail("500", count=2)
    assert len(client_.list_stores()) == 3
    assert evotor_sandbox.requests_by_kind["stores"] == 3


def test_a_client_built_without_sleep_waits_the_backoff_through_http_pause(
    settings, evotor_sandbox, retry_waits
):
    evotor_sandbox.fail("500", count=2)
    assert len(EvotorClient(DEMO_TOKEN).list_stores()) == 3
    assert len(retry_waits) == 2
    # Full jitter under HTTP_BACKOFF_SECONDS * 2**attempt.
    assert 0 <= retry_waits[0] <= settings.HTTP_BACKOFF_SECONDS
    assert 0 <= retry_waits[1] <= 2 * settings.HTTP_BACKOFF_SECONDS


def test_server_errors_that_persist_fail_cleanly_after_the_retries(
    settings, client_, evotor_sandbox
):
    evotor_sandbox.fail("500")
    with pytest.raises(EvotorUnavailable) as raised:
        client_.list_stores()
    assert raised.value.status == 500
    assert evotor_sandbox.requests_by_kind["stores"] == settings.HTTP_MAX_RETRIES + 1


def test_a_failure_mid_catalog_raises_before_the_catalog_ends(
    settings, make_client, evotor_sandbox, demo_stores
):
    settings.HTTP_MAX_RETRIES = 1
    products = make_client(page_size=100).iter_products(demo_stores["shop"])
    read = [next(products) for _ in range(100)]
    evotor_sandbox.fail("503")
    with pytest.raises(EvotorUnavailable):
        read.extend(products)
    assert len(read) == 100


def test_malformed_json_is_retried_then_succeeds(client_, evotor_sandbox, sleeps):
    evotor_sandbox.fail("malformed", count=1)
    assert len(client_.list_stores()) == 3
    assert len(sleeps) == 1


def test_malformed_json_that_persists_is_a_bad_response(settings, client_, evotor_sandbox):
    evotor_sandbox.fail("malformed")
    with pytest.raises(EvotorBadResponse) as raised:
        client_.list_stores()
    assert isinstance(raised.value, EvotorUnavailable)
    assert evotor_sandbox.requests_by_kind["stores"] == settings.HTTP_MAX_RETRIES + 1


def test_json_of_an_unexpected_shape_is_a_bad_response(settings, client_, evotor_sandbox):
    settings.HTTP_MAX_RETRIES = 1
    evotor_sandbox.fail("unexpected")
    with pytest.raises(EvotorBadResponse):
        client_.list_stores()


def test_answers_lost_on_the_way_are_retried_then_unavailable(
    settings, client_, evotor_sandbox, lost_answers, sleeps
):
    settings.HTTP_MAX_RETRIES = 1
    lost_answers.drop("/evotor/stores")
    with pytest.raises(EvotorUnavailable, match="no answer in time"):
        client_.list_stores()
    assert evotor_sandbox.requests_by_kind["stores"] == 2
    assert len(sleeps) == 1


def test_an_answer_lost_once_is_read_on_the_retry(client_, evotor_sandbox, lost_answers):
    lost_answers.drop("/evotor/stores", count=1)
    assert len(client_.list_stores()) == 3
    assert evotor_sandbox.requests_by_kind["stores"] == 2


def test_a_slow_answer_within_the_timeout_is_fine(client_, evotor_sandbox):
    evotor_sandbox.fail("slow", delay=0.05, count=1)
    assert len(client_.list_stores()) == 3


def test_an_unreachable_evotor_is_unavailable(settings, make_client):
    settings.HTTP_MAX_RETRIES = 0
    client = make_client(base_url="http://127.0.0.1:9/evotor")
    with pytest.raises(EvotorUnavailable):
        client.list_stores()


def test_every_error_is_an_evotor_error():
    for error in (
        EvotorAuthError,
        EvotorStoreUnavailable,
        EvotorRateLimited,
        EvotorUnavailable,
        EvotorBadResponse,
    ):
        assert issubclass(error, EvotorError)
