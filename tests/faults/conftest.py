"""The fault suite's fixtures: a Redis server of the test's own, which it stops and starts, and
the publishing engine's merchant (tests/sync_engine/conftest.py) reused as is."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time

import pytest

# The engine's merchant connected to both sandboxes (shop) and what it needs.
from tests.sync_engine.conftest import default_photo_path, fast_vk, shop  # noqa: F401

REDIS_BINARY = shutil.which("redis-server")
START_SECONDS = 30  # a safety bound on a server coming up, never a measured expectation


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """`redis-server` on a loopback port of its own, in memory only (no RDB, no AOF): a stop
    loses everything it held, as a real Redis restarted without persistence does."""

    def __init__(self, directory):
        self.port = free_port()
        self.directory = directory
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        import redis

        self.process = subprocess.Popen(
            [
                REDIS_BINARY,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.02)
            finally:
                client.close()
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server with `sig` and wait until it is gone (its port closed)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=START_SECONDS)
        self.process = None

    def restart(self) -> RedisServer:
        self.stop(signal.SIGKILL)
        return self.start()


@pytest.fixture
def redis_server(tmp_path):
    """A Redis of this test's own; skipped only when redis-server is not installed (CI has it)."""
    if REDIS_BINARY is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path).start()
    yield server
    server.stop(signal.SIGKILL)


@pytest.fixture
def on_redis(redis_server, settings, monkeypatch):
    """The cache, the task broker and the VK rate limiter all pointed at `redis_server`, as a
    deployment with REDIS_URL has them."""
    from django_q.conf import Conf

    settings.REDIS_URL = redis_server.url
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server.url,
        }
    }
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "BROKER_CLASS", None)
    monkeypatch.setattr(Conf, "DJANGO_REDIS", None)
    monkeypatch.setattr(Conf, "REDIS", redis_server.url)
    return redis_server
