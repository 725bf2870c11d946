"""Change events of the Evotor emulator (docs/contracts/evotor-api.md §7.5, §7.5a), and «the till» page.

Every change made through the emulator (the Python methods, `/_control/…`, the till page)
becomes an event `{id, timestamp, type, action, payload}`:

* kept in order and served by the events API, `GET /api/apps/{app_id}/events?type=…&since=…`
  (`Authorization: Bearer <publisher token>`, paged by `cursor`, `since` inclusive, in ms);
* pushed, when a push URL is configured, like Evotor's Hookshot: a POST with
  `X-Evotor-Delivery`, `X-Hub-Signature: sha1=<HMAC-SHA1(body, secret)>`, the v2 JSON type,
  no `Authorization`. A failed push is logged and counted; the event stays in the API.

The till page (`/till`) is plain HTML forms, no script and no inline style: a person changes a product's price,
name, stock, sellable flag or picture as a cashier would.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import threading
import uuid
from urllib.parse import parse_qs

import requests

logger = logging.getLogger(__name__)

DEFAULT_APP_ID = "evosync-sandbox-app"
DEFAULT_PUBLISHER_TOKEN = "sandbox-publisher-token"
PUSH_TIMEOUT = 15  # Evotor waits this long for an answer (§7.5)


class EventLog:
    """The events of the emulator, and their push delivery."""

    def __init__(self):
        self._lock = threading.RLock()
        self.app_id = DEFAULT_APP_ID
        self.publisher_token = DEFAULT_PUBLISHER_TOKEN
        self.push_url: str | None = None
        self.push_secret = ""
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._events: list[dict] = []
            self.pushed = 0
            self.push_failures = 0

    def configure_push(self, url: str | None, secret: str = "") -> None:
        """Push to `url` signed with `secret` from now on (None: stop pushing)."""
        with self._lock:
            self.push_url = url or None
            self.push_secret = secret

    def record(self, kind: str, action: str, payload: dict, timestamp: int) -> dict:
        event = {
            "id": str(uuid.uuid4()),
            "timestamp": timestamp,
            "type": kind,
            "action": action,
            "payload": payload,
        }
        with self._lock:
            self._events.append(event)
        return event

    @property
    def events(self) -> list[dict]:
        with self._lock:
            return list(self._events)

    def push(self, event: dict) -> int | None:
        """Deliver one event to the push URL; the status it got (None: not sent or failed)."""
        with self._lock:
            url, secret = self.push_url, self.push_secret
        if not url:
            return None
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        signature = hmac.new(secret.encode("utf-8"), body, hashlib.sha1).hexdigest()
        headers = {
            "Content-Type": "application/vnd.evotor.v2+json;charset=UTF-8",
            "User-Agent": "Evotor-Hookshot",
            "X-Evotor-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature": f"sha1={signature}",
        }
        try:
            status = requests.post(
                url, data=body, headers=headers, timeout=PUSH_TIMEOUT
            ).status_code
        except requests.RequestException as exc:
            status = None
            logger.warning("Evotor sandbox push failed: %s", type(exc).__name__)
        with self._lock:
            if status is not None and status < 500:
                self.pushed += 1
            else:
                self.push_failures += 1
        return status

    def page(
        self, *, types: set[str] | None, since: int | None, start: int, limit: int
    ) -> tuple[list[dict], int | None]:
        """Up to `limit` events from position `start` matching the filters, and where the next
        page starts (None on the last)."""
        with self._lock:
            events = self._events
            rows, pos = [], start
            while pos < len(events) and len(rows) < limit:
                event = events[pos]
                pos += 1
                if types and event["type"] not in types:
                    continue
                if since is not None and event["timestamp"] < since:
                    continue
                rows.append(event)
            return rows, (pos if pos < len(events) else None)


# --- the till page -------------------------------------------------------------------------------
def till_page(sandbox, message: str = "") -> bytes:
    """Every product of every store, one form per product."""
    esc = html.escape
    parts = [
        "<!doctype html><html lang='ru'><head><meta charset='utf-8'>",
        # No inline style or script: the page stays usable under a strict CSP.
        # No favicon to ask for: a browser's request for /favicon.ico would be a 404.
        "<link rel='icon' href='data:,'>",
        "<title>Касса — песочница Эвотор</title></head><body>",
        "<h1>Касса (песочница Эвотор)</h1>",
        "<p>Измените товар, как на кассе: изменение уходит событием в EvoSync.</p>",
    ]
    if message:
        parts.append(f"<p role='status'><strong>{esc(message)}</strong></p>")
    for store_id in sandbox.all_store_ids():
        parts.append(f"<h2>{esc(sandbox.store_name(store_id))}</h2>")
        for product in sandbox.products(store_id)[:500]:
            sellable = "checked" if product.get("allow_to_sell", True) else ""
            image = "checked" if sandbox.has_image(store_id, product["id"]) else ""
            parts.append(
                "<form method='post'><fieldset>"
                f"<input type='hidden' name='store_id' value='{esc(store_id)}'>"
                f"<input type='hidden' name='product_id' value='{esc(product['id'])}'>"
                "<label>Название <input type='text' name='name' "
                f"value='{esc(product.get('name', ''))}'></label> "
                "<label>Цена <input class='num' name='price' "
                f"value='{esc(str(product.get('price', 0)))}'></label> "
                "<label>Остаток <input class='num' name='quantity' "
                f"value='{esc(str(product.get('quantity', '')))}'></label> "
                "<label><input type='checkbox' name='allow_to_sell' value='1' "
                f"{sellable}> в продаже</label> "
                f"<label><input type='checkbox' name='image' value='1' {image}> картинка</label> "
                "<button type='submit'>Сохранить</button></fieldset></form>"
            )
    parts.append("</body></html>")
    return "".join(parts).encode("utf-8")


def till_change(sandbox, body: bytes) -> str:
    """Apply one submitted till form; returns what the page says."""
    form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    store_id, product_id = form.get("store_id", ""), form.get("product_id", "")
    fields: dict = {
        "allow_to_sell": form.get("allow_to_sell") == "1",
        "image": form.get("image") == "1",
    }
    if form.get("name", "").strip():
        fields["name"] = form["name"].strip()[:100]
    if form.get("price", "").strip():
        fields["price"] = form["price"].strip().replace(",", ".")
    quantity = form.get("quantity", "").strip().replace(",", ".")
    fields["quantity"] = quantity or None
    row = sandbox.set_product(store_id, product_id, **fields)
    return f"Сохранено: {row['name']}, {row['price']} ₽"
