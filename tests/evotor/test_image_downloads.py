"""Redirects never carry the Evotor token to another host; picture downloads stay on Evotor's
hosts, end in time, and tell the merchant nothing about the upstream (issue 13, items 4, 10).

A small HTTP server on loopback plays Evotor and "another host": 127.0.0.1 and localhost are
different origins of the same server, so it sees every request and its headers.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connections.evotor_client import (
    EvotorBadResponse,
    EvotorClient,
    EvotorError,
    EvotorUnavailable,
)
from tests.vk.conftest import make_image

TOKEN = "cloud-token-0123456789abcdef"
PNG = make_image((300, 300), "PNG")


class Upstream(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: list[tuple[str, str, dict]] = []
        self.routes: dict[str, tuple[int, dict, bytes]] = {}

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        host = self.headers.get("Host", "").split(":")[0]
        self.server.seen.append((host, self.path, dict(self.headers)))
        status, headers, body = self.server.routes.get(self.path, (404, {}, b"nope"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value.replace("{port}", str(self.server.port)))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def upstream():
    server = Upstream()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def evotor(upstream, settings):
    settings.EVOTOR_AUTH_HEADER = "x-authorization"
    settings.EVOTOR_IMAGE_HOSTS = [".evotor.ru"]

    def make(**kwargs):
        return EvotorClient(TOKEN, base_url=upstream.url(""), sleep=lambda _s: None, **kwargs)

    return make


def tokens_seen_by(upstream, host: str) -> list[str]:
    return [
        headers.get("X-Authorization", "") + headers.get("Authorization", "")
        for seen_host, _path, headers in upstream.seen
        if seen_host == host
    ]


IMAGE = {"Content-Type": "image/png"}
AWAY = {"Location": "http://localhost:{port}/capture"}


def test_an_api_redirect_to_another_host_does_not_carry_the_token(upstream, evotor):
    upstream.routes["/stores"] = (302, AWAY, b"")
    upstream.routes["/capture"] = (200, {"Content-Type": "application/json"}, b'{"items": []}')
    with pytest.raises(EvotorError):
        evotor().list_stores()
    assert not any(tokens_seen_by(upstream, "localhost"))


def test_an_api_redirect_within_evotor_is_followed_with_the_token(upstream, evotor):
    upstream.routes["/stores"] = (307, {"Location": "/v2/stores"}, b"")
    upstream.routes["/v2/stores"] = (200, {"Content-Type": "application/json"}, b'{"items": []}')
    assert evotor().list_stores() == []
    assert tokens_seen_by(upstream, "127.0.0.1") == [TOKEN, TOKEN]


def test_an_image_redirect_to_another_allowed_host_drops_the_token(upstream, evotor, settings):
    settings.EVOTOR_IMAGE_HOSTS = ["localhost"]
    upstream.routes["/images/1.png"] = (302, AWAY, b"")
    upstream.routes["/capture"] = (200, IMAGE, PNG)
    assert evotor().download_image("/images/1.png") == PNG
    assert tokens_seen_by(upstream, "127.0.0.1") == [TOKEN]
    assert tokens_seen_by(upstream, "localhost") == [""]


def test_an_image_redirect_to_a_host_not_allowed_is_not_followed(upstream, evotor):
    upstream.routes["/images/1.png"] = (302, AWAY, b"")
    upstream.routes["/capture"] = (200, IMAGE, PNG)
    with pytest.raises(EvotorError):
        evotor().download_image("/images/1.png")
    assert tokens_seen_by(upstream, "localhost") == []


def test_an_image_on_a_host_not_allowed_is_never_fetched(upstream, evotor):
    upstream.routes["/capture"] = (200, IMAGE, PNG)
    with pytest.raises(EvotorBadResponse):
        evotor().download_image(upstream.url("/capture", host="localhost"))
    assert upstream.seen == []


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://img.evotor.ru/a.png", True),
        ("https://evotor.ru/a.png", True),
        ("https://evotor.ru.evil.example/a.png", False),
        ("https://notevotor.ru/a.png", False),
        ("ftp://img.evotor.ru/a.png", False),
        ("https://169.254.169.254/latest/meta-data", False),
    ],
)
def test_the_image_host_allow_list(evotor, url, allowed):
    assert evotor().image_host_allowed(url) is allowed


def test_a_download_that_outlasts_its_deadline_is_given_up(upstream, evotor, settings):
    settings.EVOTOR_IMAGE_DOWNLOAD_SECONDS = 20
    upstream.routes["/images/1.png"] = (200, IMAGE, PNG)
    ticks = iter([0.0, 25.0, 50.0, 75.0])  # the deadline is set at 0; the first read ends at 25
    client = evotor(monotonic=lambda: next(ticks))
    with pytest.raises(EvotorUnavailable):
        client.download_image("/images/1.png")


@pytest.mark.parametrize(
    ("status", "headers", "hidden"),
    [(404, {}, "404"), (200, {"Content-Type": "text/html"}, "text/html"), (503, {}, "503")],
)
def test_download_errors_do_not_describe_the_upstream(upstream, evotor, status, headers, hidden):
    upstream.routes["/images/1.png"] = (status, headers, b"<html>internal</html>")
    with pytest.raises(EvotorError) as caught:
        evotor().download_image("/images/1.png")
    assert hidden not in str(caught.value)
