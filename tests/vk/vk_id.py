"""Walking VK ID's consent page like a browser, over real HTTP to the sandbox.

The Django test client cannot open the sandbox (another server), so the step at VK is done with
`requests`: open the consent page the site redirected to, read its form, press «Разрешить» (or
«Отмена»), and hand the address VK sends the browser back to to the test client.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from django.urls import reverse

CONNECT = reverse("connections:vk_connect")
CALLBACK = reverse("connections:vk_callback")
COMMUNITIES = reverse("connections:vk_communities")


class _Form(HTMLParser):
    def __init__(self):
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs.get("action", "")
        elif tag == "input" and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value", "")
        elif tag == "select":
            self._select = attrs["name"]
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields[self._select] = attrs["value"]
        elif tag == "button" and attrs.get("name"):
            self.buttons[attrs["value"]] = attrs["name"]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def open_consent(url: str) -> tuple[requests.Response, _Form]:
    page = requests.get(url, timeout=10)
    form = _Form()
    form.feed(page.text)
    return page, form


def consent(url: str, *, decision: str = "allow", user_id: int | None = None) -> str:
    """Opens VK's consent page at `url`, presses «Разрешить» ("allow") or «Отмена» ("deny") as
    `user_id` (default: whoever the page preselects); returns where VK redirects the browser."""
    page, form = open_consent(url)
    assert page.status_code == 200, page.text
    assert "Разрешить" in page.text and "allow" in form.buttons, page.text
    data = dict(form.fields)
    data[form.buttons[decision]] = decision
    if user_id is not None:
        data["user_id"] = str(user_id)
    answer = requests.post(urljoin(url, form.action), data=data, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def local(url: str) -> str:
    """The path and query of an address on the site under test (for the Django test client)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def start(client) -> str:
    """Presses «Подключить ВКонтакте»; returns the VK consent page address it redirected to."""
    response = client.post(CONNECT)
    assert response.status_code == 302, response.content
    return response["Location"]


def connect(client, *, user_id: int | None = None, **headers):
    """The whole way to the community list: start, allow at VK, come back. Returns the
    response of the callback (a redirect to the community list when all went well)."""
    back = consent(start(client), user_id=user_id)
    assert urlsplit(back).path == CALLBACK, back
    return client.get(local(back), **headers)
