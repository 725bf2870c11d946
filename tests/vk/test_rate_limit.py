"""The per-token request limit shared by every worker (docs/contracts/vk-market-api.md §6, issue 11).

The log's rules run on an injected clock (the sleep advances it), on each store. The client
and the loaded-host tests count from the outside: the VK sandbox dates each request by its
arrival and refuses a 4th in one second with error 6, as VK does.
"""

import os
import threading
import time
import uuid

import pytest
from django.db import connection as db_connection

from bench.cpuload import cpu_load
from connections.models import VkRateLimitSend, VkRateLimitSlot
from connections.vk_client import VkClient
from connections.vk_errors import VkUnavailableError
from connections.vk_rate_limit import (
    PENDING_POLL_SECONDS,
    PENDING_TTL_SECONDS,
    DatabaseRateLimiter,
    LocalRateLimiter,
    RedisRateLimiter,
    default_rate_limiter,
    token_key,
)

REDIS_URL = os.environ.get("REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")
STORES = ["local", "database", pytest.param("redis", marks=needs_redis)]
SHARED_STORES = ["database", pytest.param("redis", marks=needs_redis)]


class FakeTime:
    """A clock and a sleep that advances it; every sleep is noted."""

    def __init__(self, now: float = 1000.0):
        self.now = now
        self.sleeps: list[float] = []
        self.on_sleep = None  # called at each sleep, to act "meanwhile"

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep()


def make_limiter(kind: str, fake: FakeTime | None = None, **kwargs):
    timing = {"clock": fake.clock, "sleep": fake.sleep} if fake else {}
    if kind == "redis":
        return RedisRateLimiter(REDIS_URL, prefix=f"test-vk-rate-{uuid.uuid4().hex}:", **timing)
    if kind == "database":
        return DatabaseRateLimiter(**timing, **kwargs)
    return LocalRateLimiter(**timing, **kwargs)


@pytest.fixture
def vk_rate(settings):
    """VK's real rate with a round margin: 3 requests per 1.1 s."""
    settings.VK_REQUESTS_PER_SECOND = 3
    settings.VK_RATE_LIMIT_MARGIN = 0.1


def send(fake: FakeTime, limiter, key="k"):
    permit = limiter.acquire(key)
    permit.sent()
    return permit, fake.now


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", STORES)
def test_three_requests_go_at_once_and_the_fourth_waits_a_window(vk_rate, kind):
    fake = FakeTime()
    limiter = make_limiter(kind, fake)
    times = [send(fake, limiter)[1] for _ in range(3)]
    assert times == [1000.0] * 3 and fake.sleeps == []
    permit, at = send(fake, limiter)
    assert permit.waited == pytest.approx(1.1) and at == pytest.approx(1001.1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", STORES)
def test_a_request_held_up_before_it_was_written_counts_from_its_write(vk_rate, kind):
    # A worker takes its permit at 1000.0 and loses its core until 1001.0, when it writes its
    # request; others send at 1000.3 and 1000.6. Counted from its permit (the old limiter's
    # way), A would have left the window at 1001.1 and let F go at 1001.7: A, D, E and F in
    # one second at VK.
    fake = FakeTime()
    limiter = make_limiter(kind, fake)
    late = limiter.acquire("k")
    for at in (1000.3, 1000.6):
        fake.now = at
        send(fake, limiter)
    fake.now = 1000.9
    # While A is on its way it counts as the newest request: D waits for B to leave the window.
    permit_d = limiter.acquire("k")
    assert fake.now == pytest.approx(1001.4) and permit_d.waited == pytest.approx(0.5)
    fake.now = 1001.0
    late.sent()
    fake.now = 1001.4
    permit_d.sent()
    departures = [send(fake, limiter)[1] for _ in range(2)]
    # E goes a window after C; F a window after A's write.
    assert departures == [pytest.approx(1001.7), pytest.approx(1002.1)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", STORES)
def test_a_request_never_reported_sent_keeps_its_place_for_the_pending_ttl(vk_rate, kind):
    fake = FakeTime()
    limiter = make_limiter(kind, fake)
    for _ in range(3):
        limiter.acquire("k")  # three workers died before writing their requests

    def skip_ahead():  # the polls until the reservations run out, in one step
        fake.now = max(fake.now, 1000.0 + PENDING_TTL_SECONDS - 0.01)

    fake.on_sleep = skip_ahead
    _permit, at = send(fake, limiter)
    # They count as "any moment now" until their reservations run out, then as sent then.
    assert at >= 1000.0 + PENDING_TTL_SECONDS + 1.1
    assert at <= 1000.0 + PENDING_TTL_SECONDS + 1.1 + PENDING_POLL_SECONDS
    assert fake.sleeps[0] == PENDING_POLL_SECONDS


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", STORES)
def test_only_the_first_report_of_a_send_counts(vk_rate, kind):
    fake = FakeTime()
    limiter = make_limiter(kind, fake)
    first, _ = send(fake, limiter)
    send(fake, limiter)
    send(fake, limiter)
    fake.now = 1000.5
    first.sent()  # a second report, later: the request had left at 1000.0
    _permit, at = send(fake, limiter)
    assert at == pytest.approx(1001.1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", STORES)
def test_tokens_have_windows_of_their_own(vk_rate, kind):
    fake = FakeTime()
    limiter = make_limiter(kind, fake)
    for _ in range(3):
        send(fake, limiter, key="a")
    assert send(fake, limiter, key="b")[1] == 1000.0


def test_the_window_follows_the_settings(settings):
    settings.VK_REQUESTS_PER_SECOND = 3
    settings.VK_RATE_LIMIT_MARGIN = 0.07
    assert LocalRateLimiter().window() == (3, 1_070_000)
    assert LocalRateLimiter().interval == pytest.approx(1.07 / 3)
    assert LocalRateLimiter(margin=0.5).window() == (3, 1_500_000)
    assert LocalRateLimiter(requests_per_second=50, margin=0).window() == (50, 1_000_000)
    # Below one request a second: one request per 1/rps seconds.
    assert LocalRateLimiter(requests_per_second=0.5, margin=0).window() == (1, 2_000_000)


def test_a_rate_that_is_not_positive_is_refused_clearly(settings):
    settings.VK_REQUESTS_PER_SECOND = 0
    with pytest.raises(ValueError, match="VK_REQUESTS_PER_SECOND must be positive"):
        LocalRateLimiter().acquire("k")


@pytest.mark.django_db
def test_database_limiter_stores_only_a_hash_of_the_token(vk_rate):
    limiter = DatabaseRateLimiter(sleep=lambda s: None)
    key = token_key("vk1.a.secret-token")
    limiter.acquire(key).sent()
    assert VkRateLimitSlot.objects.get().key == key
    assert VkRateLimitSend.objects.get().key == key and "secret" not in key


def test_default_limiter_follows_redis_url(settings):
    settings.REDIS_URL = ""
    assert isinstance(default_rate_limiter(), DatabaseRateLimiter)
    if REDIS_URL:
        settings.REDIS_URL = REDIS_URL
        assert isinstance(default_rate_limiter(), RedisRateLimiter)


# --- the client, against the sandbox -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_client_logs_each_request_no_earlier_than_vk_received_it(vk_sandbox, vk_rate):
    limiter = DatabaseRateLimiter()
    client = VkClient("vk-demo-token", rate_limiter=limiter)
    for _ in range(4):
        client.call("market.getCategories")
    # The log keeps the requests still in the window (the last one at least), in order.
    logged = sorted(VkRateLimitSend.objects.values_list("at_us", flat=True))
    received = sorted(vk_sandbox.requests_by_token["vk-demo-token"])
    assert len(received) == 4 and 1 <= len(logged) <= 3
    pairs = zip(logged, received[-len(logged) :], strict=True)
    assert all(log / 1e6 >= arrival for log, arrival in pairs)
    assert client.rate_refusals == 0 and vk_sandbox.refused("vk-demo-token") == 0


@pytest.mark.django_db(transaction=True)
def test_a_request_that_never_left_does_not_stay_pending(vk_rate, settings):
    settings.HTTP_MAX_RETRIES = 0
    with socket_that_refuses() as url:
        client = VkClient("vk-demo-token", base_url=url, rate_limiter=DatabaseRateLimiter())
        with pytest.raises(VkUnavailableError):
            client.call("market.getCategories")
    (logged,) = VkRateLimitSend.objects.values_list("at_us", flat=True)
    assert logged <= time.time() * 1e6  # sent "now", not a reservation into the future


def test_client_counts_requests_refused_for_the_rate(vk_sandbox):
    vk_sandbox.fail(6, count=2)
    client = VkClient(
        "vk-demo-token",
        rate_limiter=LocalRateLimiter(requests_per_second=1000),
        sleep=lambda s: None,
    )
    assert client.call("market.getCategories")
    assert client.rate_refusals == 2 and client.requests_made == 3


class socket_that_refuses:
    """A loopback URL where nothing listens."""

    def __enter__(self) -> str:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/method"

    def __exit__(self, *exc):
        self._sock.close()


# --- a loaded host ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", SHARED_STORES)
def test_workers_sharing_a_token_on_a_loaded_host_stay_within_vks_limit(vk_sandbox, settings, kind):
    # The sandbox at VK's limit; every core taken by busy loops, so workers lose the CPU at
    # any point, between the permit and the write too (issue 11: 6 loops on 2 cores).
    settings.VK_REQUESTS_PER_SECOND = 3
    assert vk_sandbox.rate_limit_per_second == 3
    token = f"shared-{uuid.uuid4().hex}"
    vk_sandbox.add_token(token, user_id=1001)
    workers, per_worker = 4, 4
    refusals: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            limiter = (
                RedisRateLimiter(REDIS_URL, prefix=f"test-{token}:")
                if kind == "redis"
                else DatabaseRateLimiter()
            )
            client = VkClient(token, rate_limiter=limiter)
            for _ in range(per_worker):
                client.call("market.getCategories")
            refusals.append(client.rate_refusals)
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)
        finally:
            db_connection.close()

    with cpu_load(6, max_seconds=90):
        threads = [threading.Thread(target=worker) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
    assert not errors, errors
    # Counted by the sandbox: every request arrived once, none refused, never 4 in a second.
    assert len(vk_sandbox.requests_by_token[token]) == workers * per_worker
    assert vk_sandbox.refused(token) == 0
    assert vk_sandbox.max_requests_in_window(token) <= 3
    assert refusals == [0] * workers
