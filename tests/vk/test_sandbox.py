"""The VK sandbox itself: VK's rules and envelopes, over raw HTTP (docs/contracts/vk-market-api.md §13)."""

import sys
import time

import pytest
import requests
from django.conf import settings

from sandbox.vk.app import _max_in_window

TOKEN = "vk-demo-token"
OWNER = -200001


def api(method, *, token=TOKEN, **params):
    data = {"v": "5.199", **params}
    if token:
        data["access_token"] = token
    response = requests.post(f"{settings.VK_API_URL}/{method}", data=data, timeout=5)
    assert response.status_code == 200
    return response.json()


def add(**extra):
    params = {
        "owner_id": OWNER,
        "name": "Товар из теста",
        "description": "Описание товара из теста",
        "category_id": 40001,
        "price": "10",
    }
    params.update(extra)
    return api("market.add", **params)


def error_of(body):
    return body["error"]["error_code"], body["error"]["error_msg"]


def test_errors_echo_the_request_without_the_token(vk):
    body = api("market.get", owner_id=OWNER, token="wrong")
    assert error_of(body) == (5, "User authorization failed: invalid access_token (4).")
    params = {p["key"]: p["value"] for p in body["error"]["request_params"]}
    assert params == {"method": "market.get", "oauth": "1", "v": "5.199", "owner_id": str(OWNER)}


def test_version_is_required_and_json_bodies_are_not_read(vk):
    body = requests.post(
        f"{settings.VK_API_URL}/market.get", data={"access_token": TOKEN}, timeout=5
    ).json()
    assert body["error"]["error_code"] == 8
    body = requests.post(
        f"{settings.VK_API_URL}/market.get",
        json={"access_token": TOKEN, "v": "5.199"},
        timeout=5,
    ).json()
    assert body["error"]["error_code"] == 8


def test_bearer_header_and_get_requests_work(vk):
    response = requests.get(
        f"{settings.VK_API_URL}/market.getAlbums",
        params={"owner_id": OWNER, "v": "5.199"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert response.json() == {"response": {"count": 0, "items": []}}


def test_unknown_method(vk):
    assert error_of(api("market.fly"))[0] == 3


def test_name_length_is_counted_in_cp1251(vk):
    assert error_of(add(name="Сыр"))[1].endswith("name should be at least 4 letters length")
    assert "response" in add(name="Сыры")
    assert "response" in add(name="Ё" * 100)
    assert error_of(add(name="Ё" * 101))[1].endswith("name should be at most 100 letters length")
    # An emoji is stored as an entity (&#127876; = 9 characters): 92 + 9 > 100.
    assert error_of(add(name="А" * 92 + "🎄"))[0] == 100
    assert "response" in add(name="А" * 91 + "🎄")


def test_description_category_and_owner_rules(vk):
    assert error_of(add(description="Коротко"))[1].endswith(
        "description should be at least 10 letters length"
    )
    assert error_of(add(category_id=""))[1].endswith("category_id is undefined")
    assert error_of(add(owner_id=200001))[1].endswith("only groups supported")
    assert error_of(add(owner_id=-999))[0] == 100


def test_prices_go_in_roubles_and_come_back_in_kopecks(vk):
    item_id = add(price="1", old_price="15")["response"]["market_item_id"]
    body = api("market.getById", item_ids=f"{OWNER}_{item_id}")
    price = body["response"]["items"][0]["price"]
    assert price == {
        "amount": "100",
        "currency": {"id": 643, "name": "RUB", "title": "₽"},
        "text": "1 ₽",
        "old_amount": "1500",
        "old_amount_text": "15 ₽",
        "discount_rate": -93,
    }
    item_id = add(price="1990.5")["response"]["market_item_id"]
    price = api("market.getById", item_ids=f"{OWNER}_{item_id}")["response"]["items"][0]["price"]
    assert (price["amount"], price["text"]) == ("199050", "1 990.50 ₽")


def test_hide_delete_restore_and_listing(vk):
    shown = add()["response"]["market_item_id"]
    hidden = add(deleted="1")["response"]["market_item_id"]
    removed = add()["response"]["market_item_id"]
    assert api("market.delete", owner_id=OWNER, item_id=removed)["response"] == 1
    plain = api("market.get", owner_id=OWNER)["response"]
    assert [i["id"] for i in plain["items"]] == [shown]
    full = api("market.get", owner_id=OWNER, with_disabled=1, extended=1)["response"]
    assert [(i["id"], i["availability"]) for i in full["items"]] == [(hidden, 2), (shown, 0)]
    assert error_of(api("market.restore", owner_id=OWNER, item_id=shown))[0] == 1518
    assert api("market.restore", owner_id=OWNER, item_id=removed)["response"] == 1
    assert api("market.get", owner_id=OWNER)["response"]["count"] == 2
    assert error_of(api("market.edit", owner_id=OWNER, item_id=12345, name="Новое имя"))[0] == 1403
    assert error_of(api("market.get", owner_id=OWNER, count=201))[0] == 100


def test_albums_and_membership_rules(vk):
    item = add()["response"]["market_item_id"]
    created = api("market.addAlbum", owner_id=OWNER, title="Выпечка")["response"]
    assert created == {"market_album_id": 1, "albums_count": 1}
    assert api("market.addToAlbum", owner_id=OWNER, item_ids=item, album_ids=1)["response"] == 1
    assert error_of(api("market.addToAlbum", owner_id=OWNER, item_id=item, album_ids=1))[0] == 1404
    assert error_of(api("market.addToAlbum", owner_id=OWNER, item_ids=item, album_ids=9))[0] == 1402
    assert error_of(api("market.addToAlbum", owner_id=OWNER, item_ids=99, album_ids=1))[0] == 1403
    assert api("market.get", owner_id=OWNER, album_id=1)["response"]["count"] == 1
    assert api("market.removeFromAlbum", owner_id=OWNER, item_id=item, album_ids=1)["response"] == 1
    # The older `item_id` spelling is still accepted (docs/contracts/vk-market-api.md §12.4).
    assert api("market.addToAlbum", owner_id=OWNER, item_id=item, album_ids=1)["response"] == 1
    assert api("market.editAlbum", owner_id=OWNER, album_id=1, title="Хлеб")["response"] == 1
    main_and_hidden = {"main_album": 1, "is_hidden": 1}
    body = api("market.editAlbum", owner_id=OWNER, album_id=1, title="Хлеб", **main_and_hidden)
    assert error_of(body)[0] == 1446
    albums = api("market.getAlbumById", owner_id=OWNER, album_ids="1,5")["response"]
    assert [(a["title"], a["count"]) for a in albums["items"]] == [("Хлеб", 1)]
    assert api("market.deleteAlbum", owner_id=OWNER, album_id=1)["response"] == 1
    assert error_of(api("market.deleteAlbum", owner_id=OWNER, album_id=1))[0] == 1402


def test_token_kinds_scopes_and_market_off(vk):
    assert error_of(api("market.get", owner_id=OWNER, token="vk-demo-group-token")) == (
        27,
        "Group authorization failed: method is unavailable with group auth.",
    )
    vk.add_token("no-market", user_id=1001, scopes=("photos",))
    assert error_of(api("market.get", owner_id=OWNER, token="no-market"))[0] == 15
    assert error_of(api("market.get", owner_id=-200002))[0] == 1438
    vk.set_market_enabled(200002, True)
    assert api("market.get", owner_id=-200002)["response"]["count"] == 0


def test_groups_and_screen_names(vk):
    body = api("groups.getById", group_id="demo_shop", fields="market")["response"]
    (group,) = body["groups"]
    assert (group["id"], group["name"], group["is_admin"]) == (200001, "Демо-магазин", 1)
    assert group["market"]["enabled"] == 1 and body["profiles"] == []
    off = api("groups.getById", group_id=200002, fields="market")["response"]["groups"][0]
    assert off["market"] == {"enabled": 0}
    assert api("utils.resolveScreenName", screen_name="demo_shop")["response"] == {
        "type": "group",
        "object_id": 200001,
    }
    assert api("utils.resolveScreenName", screen_name="nobody_here")["response"] == []
    assert error_of(api("groups.getById", group_id=987654321))[0] == 100


class FrozenClock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_sandbox_refuses_the_fourth_request_in_one_second_with_error_6(vk_sandbox):
    clock = vk_sandbox.clock = FrozenClock(1000.0)
    assert vk_sandbox.rate_limit_per_second == 3  # VK's limit for a user token, by default
    for at in (1000.0, 1000.3, 1000.6):
        clock.now = at
        assert "response" in api("market.getCategories")
    clock.now = 1000.99
    assert error_of(api("market.getCategories")) == (6, "Too many requests per second")
    assert vk_sandbox.refused(TOKEN) == 1
    # Counted as received, refused or not.
    assert vk_sandbox.max_requests_in_window(TOKEN) == 4


def test_sandbox_accepts_a_request_once_the_oldest_left_the_window(vk_sandbox):
    clock = vk_sandbox.clock = FrozenClock(1000.0)
    for at in (1000.0, 1000.3, 1000.6, 1001.0, 1001.3):
        clock.now = at
        assert "response" in api("market.getCategories")
    assert vk_sandbox.refused(TOKEN) == 0 and vk_sandbox.max_requests_in_window(TOKEN) == 3


def test_sandbox_window_holds_requests_handed_in_out_of_order(vk_sandbox):
    # A slow thread may pass on a request that arrived before ones already counted.
    clock = vk_sandbox.clock = FrozenClock(1000.5)
    for at in (1000.5, 1000.9, 1001.2, 1000.1):
        clock.now = at
        api("market.getCategories")
    # No one-second window holds four of 1000.1, 1000.5, 1000.9 and 1001.2.
    assert vk_sandbox.refused(TOKEN) == 0
    clock.now = 1000.3
    assert error_of(api("market.getCategories"))[0] == 6  # 1000.1, .3, .5, .9: four


def test_sandbox_limit_can_be_loosened_per_test_and_reset_restores_vks(vk_sandbox):
    vk_sandbox.clock = FrozenClock(1000.0)
    vk_sandbox.set_rate_limit(5)
    for _ in range(5):
        assert "response" in api("market.getCategories")
    assert error_of(api("market.getCategories"))[0] == 6
    vk_sandbox.reset()
    assert vk_sandbox.rate_limit_per_second == 3 and vk_sandbox.clock is None
    assert vk_sandbox.refused(TOKEN) == 0


def test_group_tokens_have_vks_community_limit(vk_sandbox):
    vk_sandbox.clock = FrozenClock(1000.0)
    answers = [api("market.getCategories", token="vk-demo-group-token") for _ in range(21)]
    # Counted before the method refuses community tokens (error 27), as VK counts requests.
    assert [error_of(answer)[0] for answer in answers] == [27] * 20 + [6]


@pytest.mark.skipif(sys.platform != "linux", reason="kernel receive timestamps are Linux's")
def test_requests_are_dated_by_their_arrival_not_by_when_a_thread_reads_them(sandbox_server):
    import socket

    from sandbox.server import _arrival_time

    listener = socket.create_server(("127.0.0.1", 0))
    listener.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_TIMESTAMPNS", 35), 1)
    with listener, socket.create_connection(listener.getsockname()) as client:
        server_side, _ = listener.accept()
        with server_side:
            before = time.time()
            client.sendall(b"POST /vk/method/x HTTP/1.0\r\n\r\n")
            after = time.time()
            time.sleep(0.2)  # the server's thread comes late
            arrival = _arrival_time(server_side)
            # Peeked, not read: the request is still there for the HTTP parser.
            assert server_side.recv(100).startswith(b"POST /vk/method/x")
    assert arrival is not None and before <= arrival <= after


def test_captcha_error_carries_sid_and_image_and_accepts_an_answer(vk):
    vk.fail(14, captcha_sid="42")
    body = api("market.getCategories")["error"]
    assert (body["error_code"], body["captcha_sid"]) == (14, "42")
    assert body["captcha_img"].endswith("captcha.php?sid=42")
    assert "response" in api("market.getCategories", captcha_sid="42", captcha_key="abcd")
    vk.clear_failures()
    assert "response" in api("market.getCategories")


def test_failures_can_be_counted_and_aimed_at_one_method(vk):
    vk.fail(10, method="market.get", count=1)
    assert "response" in api("market.getCategories")
    assert error_of(api("market.get", owner_id=OWNER))[0] == 10
    assert "response" in api("market.get", owner_id=OWNER)


def test_controls_work_over_http_for_an_out_of_process_sandbox(vk):
    base = settings.VK_API_URL.rsplit("/method", 1)[0]

    def control(action, **kwargs):
        response = requests.post(f"{base}/_control/{action}", json=kwargs, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()["result"]

    control("add_token", token="remote", user_id=7, scopes=["market"])
    control("add_group", group_id=300, name="Удалённый магазин", admins=[7])
    item = control("add_item", group_id=300, title="Ручной товар", price=250, sku="A-1")
    assert item["price"]["amount"] == "25000"
    assert control("generate_items", group_id=300, count=5, albums=2) == 5
    assert len(control("items", group_id=300)) == 6
    assert [a["count"] for a in control("albums", group_id=300)] == [3, 2]
    assert api("market.get", owner_id=-300, token="remote")["response"]["count"] == 6
    control("set_rate_limit", n=1)
    control("fail", code=9, count=1)
    assert error_of(api("market.getCategories", token="remote"))[0] == 9
    stats = control("stats")
    assert stats["requests_by_method"]["market.getCategories"] == 1
    assert control("max_requests_in_window", token="remote") >= 1
    control("revoke_token", token="remote")
    control("clear_failures")
    assert error_of(api("market.get", owner_id=-300, token="remote"))[0] == 5
    bad = requests.post(f"{base}/_control/add_token", json={"nonsense": 1}, timeout=5)
    assert bad.status_code == 400
    assert requests.post(f"{base}/_control/__init__", json={}, timeout=5).status_code == 404
    control("reset")
    assert vk.rate_limit_per_second == 3 and "remote" not in vk.api.tokens


def test_photo_urls_serve_images(vk, vk_client, group_id, evotor_png):
    photo_id = vk_client.upload_product_photo(group_id, evotor_png)
    base = settings.VK_API_URL.rsplit("/method", 1)[0]
    response = requests.get(f"{base}/photo/{photo_id}.jpg?size=m", timeout=5)
    assert response.headers["Content-Type"] == "image/jpeg" and response.content[:2] == b"\xff\xd8"


def test_max_in_window_counts_the_busiest_second():
    assert _max_in_window([0.0, 0.3, 0.6, 0.99, 1.0, 1.5], 1.0) == 4
    assert _max_in_window([], 1.0) == 0


def test_a_cloned_community_has_the_items_under_the_same_ids_and_edits_are_logged(vk):
    base = settings.VK_API_URL.rsplit("/method", 1)[0]

    def control(action, **kwargs):
        response = requests.post(f"{base}/_control/{action}", json=kwargs, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()["result"]

    control("add_token", token="copier", user_id=7, scopes=["market"])
    control("add_group", group_id=301, name="Образец", admins=[7])
    control("generate_items", group_id=301, count=3, albums=1)
    assert control("clone_group", source_group_id=301, group_id=302) == 3
    copied = control("items", group_id=302)
    assert [(i["id"], i["owner_id"], i["title"]) for i in copied] == [
        (i["id"], -302, i["title"]) for i in control("items", group_id=301)
    ]
    start = control("edits")["next"]
    edited = api("market.edit", owner_id=-302, item_id=copied[1]["id"], price="77", token="copier")
    assert edited == {"response": 1}
    log = control("edits", start=start)
    assert [entry[1:] for entry in log["edits"]] == [[302, copied[1]["id"], 7700]]
    assert abs(log["edits"][0][0] - time.time()) < 60
    assert log["next"] == start + 1
    # The source community is left as it was.
    assert control("items", group_id=301)[1]["price"]["amount"] != "7700"
