"""The Evotor sandbox's change events: the events API, signed pushes, and the till page
(docs/contracts/evotor-api.md §7.5, §7.5a), seen over raw HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from sandbox.evotor.events import DEFAULT_APP_ID, DEFAULT_PUBLISHER_TOKEN

EVENTS = f"/api/apps/{DEFAULT_APP_ID}/events"
AUTH = {"Authorization": f"Bearer {DEFAULT_PUBLISHER_TOKEN}"}


@pytest.fixture
def sandbox(evotor_sandbox):
    yield evotor_sandbox
    evotor_sandbox.events.configure_push(None)


@pytest.fixture
def store(sandbox):
    store_id = sandbox.add_store(name="Касса-тест")
    product = sandbox.add_product(store_id, name="Чай", price=150)
    return store_id, product["id"]


@pytest.fixture
def receiver():
    """A loopback HTTP server that records what is posted to it (stands in for EvoSync)."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"headers": dict(self.headers), "body": body})
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def test_a_change_at_the_till_is_pushed_signed_with_the_secret(sandbox, store, receiver):
    url, received = receiver
    store_id, product_id = store
    sandbox.events.configure_push(url, "s3cret")
    sandbox.set_product(store_id, product_id, price=171)
    (delivery,) = received
    body, headers = delivery["body"], delivery["headers"]
    expected = "sha1=" + hmac.new(b"s3cret", body, hashlib.sha1).hexdigest()
    assert headers["X-Hub-Signature"] == expected
    assert headers["X-Evotor-Delivery"]
    assert headers["User-Agent"] == "Evotor-Hookshot"
    assert "Authorization" not in headers
    event = json.loads(body)
    assert (event["type"], event["action"]) == ("Product", "updated")
    assert event["payload"]["id"] == product_id and event["payload"]["price"] == 171
    assert sandbox.events.pushed == 1


def test_a_push_nobody_answers_is_counted_and_kept_for_the_events_api(sandbox, store):
    store_id, product_id = store
    sandbox.events.configure_push("http://127.0.0.1:9/nothing-listens", "s")
    sandbox.set_product(store_id, product_id, price=172)
    assert sandbox.events.push_failures == 1
    assert sandbox.events.events[-1]["payload"]["price"] == 172


def test_the_events_api_pages_and_filters_by_type_and_since(sandbox, store, sandbox_server):
    store_id, product_id = store
    sandbox.add_group(store_id, name="Напитки")
    for price in (1, 2, 3):
        sandbox.set_product(store_id, product_id, price=price)
    url = sandbox_server.evotor_url + EVENTS
    first = requests.get(url, params={"type": "Product", "limit": 2}, headers=AUTH, timeout=5)
    assert first.status_code == 200
    page = first.json()
    assert [e["type"] for e in page["items"]] == ["Product", "Product"]
    rest = requests.get(
        url, params={"cursor": page["paging"]["next_cursor"]}, headers=AUTH, timeout=5
    ).json()
    items = page["items"] + rest["items"]
    assert rest["paging"] == {}
    assert [e["action"] for e in items] == ["created", "updated", "updated", "updated"]
    since = items[-1]["timestamp"]
    latest = requests.get(url, params={"since": since}, headers=AUTH, timeout=5).json()
    assert [e["payload"].get("price") for e in latest["items"]] == [3]


def test_the_events_api_wants_the_publisher_token(sandbox, sandbox_server):
    url = sandbox_server.evotor_url + EVENTS
    assert requests.get(url, timeout=5).status_code == 401
    other_app = sandbox_server.evotor_url + "/api/apps/other/events"
    assert requests.get(other_app, headers=AUTH, timeout=5).status_code == 404


def test_a_removed_product_is_an_event_with_its_id(sandbox, store):
    store_id, product_id = store
    sandbox.remove_product(store_id, product_id)
    event = sandbox.events.events[-1]
    assert (event["type"], event["action"]) == ("Product", "removed")
    assert event["payload"] == {
        "id": product_id,
        "store_id": store_id,
        "user_id": event["payload"]["user_id"],
    }


def test_the_till_page_lists_products_in_plain_html(sandbox, store, sandbox_server):
    response = requests.get(sandbox_server.evotor_url + "/till", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Касса-тест" in response.text and "Чай" in response.text
    assert "<script" not in response.text and "<style" not in response.text


def test_the_till_form_changes_price_name_stock_and_sellable(sandbox, store, sandbox_server):
    store_id, product_id = store
    form = {
        "store_id": store_id,
        "product_id": product_id,
        "name": "Чай зелёный",
        "price": "199,50",
        "quantity": "7",
    }
    response = requests.post(sandbox_server.evotor_url + "/till", data=form, timeout=5)
    assert response.status_code == 200
    assert "Сохранено" in response.text
    row = sandbox.product(store_id, product_id)
    assert (row["name"], str(row["price"]), str(row["quantity"])) == ("Чай зелёный", "199.50", "7")
    assert row["allow_to_sell"] is False  # the box was not ticked
    assert sandbox.events.events[-1]["payload"]["name"] == "Чай зелёный"


def test_the_till_refuses_an_unknown_product_clearly(sandbox, store, sandbox_server):
    store_id, _product_id = store
    form = {"store_id": store_id, "product_id": "nope", "price": "1"}
    response = requests.post(sandbox_server.evotor_url + "/till", data=form, timeout=5)
    assert response.status_code == 400
    assert "nope" in response.text
