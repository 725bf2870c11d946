"""The Evotor sandbox keeps Evotor's contract (docs/contracts/evotor-api.md §4-§6, §11), seen over raw HTTP."""

from __future__ import annotations

import io
import re
import tracemalloc

import pytest
import requests
from PIL import Image

from sandbox.evotor.app import EvotorSandbox
from sandbox.evotor.demo import DEMO_TOKEN

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
AUTH = {"Authorization": f"Bearer {DEMO_TOKEN}", "Accept": "application/vnd.evotor.v2+json"}


@pytest.fixture
def api(evotor_sandbox, sandbox_server):
    def get(path: str, *, headers=AUTH, **params) -> requests.Response:
        return requests.get(
            sandbox_server.evotor_url + path, headers=headers, params=params, timeout=5
        )

    return get


def all_pages(api, path: str, **params) -> list[dict]:
    pages = [api(path, **params).json()]
    while pages[-1]["paging"]:
        pages.append(api(path, cursor=pages[-1]["paging"]["next_cursor"]).json())
    return pages


def walk(value):
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def test_health_answers_without_a_token(api):
    assert api("/health", headers={}).status_code == 200


def test_the_demo_catalog_is_realistic(evotor_sandbox, demo_stores):
    shop, cafe = (evotor_sandbox.products(demo_stores[k]) for k in ("shop", "cafe"))
    products = shop + cafe
    assert 450 <= len(products) + len(evotor_sandbox.products(demo_stores["unpaid"])) <= 550
    assert any(float(p["price"]) % 1 for p in products)
    assert any(p.get("quantity") == 0 for p in products)
    assert any(p["allow_to_sell"] is False for p in products)
    assert any(p["description"] for p in products)
    assert any(p["article_number"] for p in products)
    assert any(p["barcodes"] for p in products)
    assert {p["measure_name"] for p in products} >= {"шт", "кг"}
    assert {p["type"] for p in products} >= {"NORMAL", "SERVICE", "ALCOHOL_NOT_MARKED"}
    assert all(re.search("[а-яА-Я]", p["name"]) or "«" in p["name"] for p in products)
    groups = {g["id"]: g for g in evotor_sandbox.groups(demo_stores["shop"])}
    depth = max(len(list(_ancestors(groups, g))) for g in groups.values())
    assert depth == 3


def _ancestors(groups, group):
    while group is not None:
        yield group
        group = groups.get(group.get("parent_id"))


def test_about_a_third_of_the_products_have_a_picture(api, evotor_sandbox, demo_stores):
    shop = demo_stores["shop"]
    ids = [p["id"] for p in evotor_sandbox.products(shop)][:90]
    with_images = sum(
        bool(api(f"/stores/{shop}/products/{pid}/images").json()["items"]) for pid in ids
    )
    assert 15 <= with_images <= 45


def test_the_demo_is_the_same_after_every_reset():
    one = EvotorSandbox("http://x/evotor")
    two = EvotorSandbox("http://x/evotor")
    store = one.store_ids()[0]
    assert one.products(store) == two.products(store)


def test_nothing_is_ever_null_and_timestamps_have_evotors_format(api, demo_stores):
    shop = demo_stores["shop"]
    bodies = [api("/stores").json(), *all_pages(api, f"/stores/{shop}/product-groups")]
    bodies += all_pages(api, f"/stores/{shop}/products")
    product = bodies[-1]["items"][0]["id"]
    bodies.append(api(f"/stores/{shop}/products/{product}").json())
    for body in bodies:
        assert None not in list(walk(body))
        for value in walk(body):
            if isinstance(value, dict):
                for key in ("created_at", "updated_at"):
                    if key in value:
                        assert TIMESTAMP.match(value[key]), value[key]


def test_pages_hold_a_thousand_items_and_the_last_page_has_empty_paging(api, evotor_sandbox):
    (store,) = evotor_sandbox.generate(products=2500)
    pages = all_pages(api, f"/stores/{store}/products")
    assert [len(p["items"]) for p in pages] == [1000, 1000, 500]
    assert all(isinstance(p["paging"]["next_cursor"], str) for p in pages[:-1])
    assert pages[-1]["paging"] == {}


def test_generated_stores_can_be_numbered_and_share_another_store_s_content(api, evotor_sandbox):
    (first,) = evotor_sandbox.generate(products=6, user_id="01-A", photos_per_product=1)
    (second,) = evotor_sandbox.generate(
        products=6, user_id="01-B", first_index=7, content_of=0, photos_per_product=1
    )
    (own,) = evotor_sandbox.generate(products=6, user_id="01-C", first_index=8)
    assert len({first, second, own}) == 3
    a, b, c = (evotor_sandbox.products(s) for s in (first, second, own))
    assert [p["id"][:8] for p in b] == ["7e570007"] * 6
    assert {p["id"] for p in a}.isdisjoint(p["id"] for p in b)
    content = [(p["name"], p["price"], p.get("quantity")) for p in a]
    assert [(p["name"], p["price"], p.get("quantity")) for p in b] == content
    assert [(p["name"], p["price"]) for p in c] != [(n, pr) for n, pr, _q in content]

    def picture(store, product):
        (image,) = evotor_sandbox.images(store, product["id"])
        url = f"{evotor_sandbox.public_url}/images/{image['id']}.png"
        response = requests.get(url, timeout=5)
        assert response.status_code == 200
        return response.content

    # The same picture too: a copy's photo is the one the store it copies shows.
    assert picture(second, b[2]) == picture(first, a[2])


def test_a_list_that_fits_one_page_has_empty_paging(api):
    assert api("/stores").json()["paging"] == {}


def test_limit_is_honoured_and_checked(api, demo_stores):
    path = f"/stores/{demo_stores['cafe']}/products"
    assert len(api(path, limit=7).json()["items"]) == 7
    for bad in ("0", "1001", "много"):
        response = api(path, limit=bad)
        assert response.status_code == 400
        assert response.json()["violations"][0]["subject"] == "limit"


def test_the_cursor_carries_the_first_requests_parameters(api, demo_stores):
    path = f"/stores/{demo_stores['shop']}/products"
    first = api(path, limit=5).json()
    # A later page ignores anything but the cursor: neither a new limit nor a since.
    second = api(path, cursor=first["paging"]["next_cursor"], limit=50, since=10**13).json()
    assert len(second["items"]) == 5
    assert {i["id"] for i in first["items"]}.isdisjoint(i["id"] for i in second["items"])


def test_a_cursor_from_another_list_is_refused(api, demo_stores):
    cursor = api(f"/stores/{demo_stores['shop']}/products", limit=1).json()["paging"]["next_cursor"]
    assert api(f"/stores/{demo_stores['cafe']}/products", cursor=cursor).status_code == 400
    assert api(f"/stores/{demo_stores['shop']}/products", cursor="не курсор").status_code == 400


def test_since_filters_on_updated_at_inclusively(api, evotor_sandbox, demo_stores):
    shop = demo_stores["shop"]
    product = evotor_sandbox.products(shop)[3]
    changed = evotor_sandbox.set_product(shop, product["id"], quantity=5)
    items = api(f"/stores/{shop}/products", since=_ms(changed["updated_at"])).json()["items"]
    assert [i["id"] for i in items] == [product["id"]]
    assert items[0]["quantity"] == 5
    assert (
        api(f"/stores/{shop}/products", since=_ms(changed["updated_at"]) + 1).json()["items"] == []
    )


def _ms(timestamp: str) -> int:
    from connections.evotor_client import parse_timestamp, to_epoch_ms

    return to_epoch_ms(parse_timestamp(timestamp))


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {DEMO_TOKEN}"},
        {"Authorization": f"bearer {DEMO_TOKEN}"},
        {"Authorization": DEMO_TOKEN},
        {"X-Authorization": DEMO_TOKEN},
    ],
)
def test_every_auth_header_style_is_accepted(api, headers):
    assert api("/stores", headers=headers).status_code == 200


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"X-Authorization": "x"}]
)
def test_a_missing_or_wrong_token_gets_401_with_a_json_body(api, headers):
    response = api("/stores", headers=headers)
    assert response.status_code == 401
    assert set(response.json()) == {"code", "message"}


def test_a_token_sees_only_its_own_user_s_stores(api, evotor_sandbox, demo_stores):
    evotor_sandbox.add_token("another-merchant-token", "01-000000000000002")
    other = evotor_sandbox.add_store(name="Чужой магазин", user_id="01-000000000000002")
    headers = {"Authorization": "Bearer another-merchant-token"}
    assert [s["name"] for s in api("/stores", headers=headers).json()["items"]] == ["Чужой магазин"]
    assert api(f"/stores/{demo_stores['shop']}/products", headers=headers).status_code == 404
    assert api(f"/stores/{other}/products").status_code == 404


def test_the_unpaid_store_is_listed_but_answers_402_on_its_paths(api, demo_stores):
    unpaid = demo_stores["unpaid"]
    assert unpaid in [s["id"] for s in api("/stores").json()["items"]]
    for path in ("", "/products", "/product-groups"):
        assert api(f"/stores/{unpaid}{path}").status_code == 402


def test_rate_limit_answers_carry_the_rate_limit_headers(api, evotor_sandbox):
    evotor_sandbox.fail("429", count=1, reset=3)
    response = api("/stores")
    assert response.status_code == 429
    assert response.headers["X-RateLimit-Reset"] == "3"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert "X-RateLimit-Limit" in response.headers
    assert api("/stores").status_code == 200


def test_failures_can_be_narrowed_to_one_store_and_counted(api, evotor_sandbox, demo_stores):
    evotor_sandbox.fail("500", store_id=demo_stores["cafe"], count=1)
    assert api(f"/stores/{demo_stores['shop']}/products").status_code == 200
    assert api(f"/stores/{demo_stores['cafe']}/products").status_code == 500
    assert api(f"/stores/{demo_stores['cafe']}/products").status_code == 200


def test_malformed_mode_sends_broken_json(api, evotor_sandbox):
    evotor_sandbox.fail("malformed", count=1)
    with pytest.raises(ValueError):
        api("/stores").json()


def test_clear_failures_heals_everything(api, evotor_sandbox):
    evotor_sandbox.fail("500")
    evotor_sandbox.clear_failures()
    assert api("/stores").status_code == 200


def test_pictures_are_300_pixel_pngs(api, evotor_sandbox, demo_stores):
    cafe = demo_stores["cafe"]
    product = evotor_sandbox.add_product(cafe, name="Эклер", price="120.50", image=True)
    (image,) = api(f"/stores/{cafe}/products/{product['id']}/images").json()["items"]
    assert image["meta"]["width"] == image["meta"]["height"] == 300
    assert image["meta"]["extension"] == "png"
    picture = requests.get(image["url"], timeout=5)
    assert picture.headers["Content-Type"] == "image/png"
    assert len(picture.content) == image["meta"]["file_size"]
    assert Image.open(io.BytesIO(picture.content)).size == (300, 300)
    assert (
        requests.get(
            image["url"].replace(image["id"], "0" * 8 + image["id"][8:]), timeout=5
        ).status_code
        == 404
    )


def test_the_legacy_v1_store_search_is_a_bare_array(api):
    stores = api(
        "/api/v1/inventories/stores/search", headers={"X-Authorization": DEMO_TOKEN}
    ).json()
    assert isinstance(stores, list) and {"uuid", "name", "address", "code"} <= set(stores[0])


def test_a_large_catalog_is_generated_lazily():
    sandbox = EvotorSandbox("http://x/evotor", seed=False)
    tracemalloc.start()
    try:
        (store,) = sandbox.generate(products=100_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000  # 100,000 product dicts would take well over 100 MB
    rows = sandbox.products(store)
    assert len(rows) == 100_000
    assert len({r["id"] for r in rows[:1000]}) == 1000


def test_catalog_changes_show_in_the_api(api, evotor_sandbox, demo_stores):
    cafe = demo_stores["cafe"]
    added = evotor_sandbox.add_product(cafe, name="Пирожное «Картошка»", price="89.90")
    ids = [i["id"] for i in api(f"/stores/{cafe}/products").json()["items"]]
    assert added["id"] in ids
    evotor_sandbox.remove_product(cafe, added["id"])
    ids = [i["id"] for i in api(f"/stores/{cafe}/products").json()["items"]]
    assert added["id"] not in ids
    assert api(f"/stores/{cafe}/products/{added['id']}").status_code == 404


def test_the_sandbox_is_driven_over_http_too(sandbox_server, api, demo_stores):
    control = sandbox_server.evotor_url + "/_control/"
    assert requests.post(control + "fail", json={"mode": "500", "count": 1}, timeout=5).ok
    assert api("/stores").status_code == 500
    shop = demo_stores["shop"]
    product = api(f"/stores/{shop}/products", limit=1).json()["items"][0]
    response = requests.post(
        control + "set_product",
        json={"store_id": shop, "product_id": product["id"], "fields": {"price": 12.5}},
        timeout=5,
    )
    assert response.json()["result"]["price"] == 12.5
    stats = requests.get(control + "stats", timeout=5).json()
    assert stats["requests_by_kind"]["products"] == 1
    assert requests.post(control + "nonsense", json={}, timeout=5).status_code == 404
    assert requests.post(control + "fail", json={"mode": "boom"}, timeout=5).status_code == 400
    assert requests.post(control + "reset", json={}, timeout=5).ok
    assert api(f"/stores/{shop}/products/{product['id']}").json()["price"] == product["price"]
