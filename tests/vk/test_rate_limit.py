"""The per-token request limit shared by every worker (vk-market-api.md §6).

Threads stand in for worker processes: each has its own limiter object and its own database
connection, so they share nothing but the database (or Redis), exactly like two workers. The
benchmark bench/vk_rate_limit.py does the same with real processes at VK's real 3 per second.
"""

import os
import threading
import uuid

import pytest
from django.db import connection as db_connection

from connections.models import VkRateLimitSlot
from connections.vk_client import VkClient
from connections.vk_rate_limit import (
    DatabaseRateLimiter,
    LocalRateLimiter,
    RedisRateLimiter,
    default_rate_limiter,
    token_key,
)

RATE = 20  # fast enough for a short test, slow enough that the spacing matters
REDIS_URL = os.environ.get("REDIS_URL", "")


def make_limiter(kind: str):
    """A limiter of its own for one worker; they share only the store (keys carry the token)."""
    if kind == "redis":
        return RedisRateLimiter(REDIS_URL, prefix="test-vk-rate:")
    return DatabaseRateLimiter()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "kind",
    [
        "database",
        pytest.param(
            "redis", marks=pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")
        ),
    ],
)
def test_two_workers_sharing_a_token_stay_under_the_limit(vk_sandbox, settings, kind):
    vk_sandbox.set_rate_limit(RATE)
    settings.VK_REQUESTS_PER_SECOND = RATE
    # At 20/s the default 7 % margin is 3.5 ms; a busy CI machine can delay one request longer
    # than that. The benchmark checks the default margin at VK's real rate.
    settings.VK_RATE_LIMIT_MARGIN = 0.25
    token = f"shared-{uuid.uuid4().hex}"
    vk_sandbox.add_token(token, user_id=1001)
    per_worker = 14
    made: list[int] = []
    errors: list[BaseException] = []
    limiter_kind = kind

    def worker():
        try:
            client = VkClient(token, rate_limiter=make_limiter(limiter_kind))
            for _ in range(per_worker):
                client.call("market.getCategories")
            made.append(client.requests_made)
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    # No request was refused with error 6 (the client would have retried it)…
    assert made == [per_worker, per_worker]
    # …and by the sandbox's own clock no one-second window held more than RATE requests.
    assert len(vk_sandbox.requests_by_token[token]) == 2 * per_worker
    assert vk_sandbox.max_requests_in_window(token) <= RATE


@pytest.mark.django_db
def test_database_limiter_spaces_slots_and_stores_only_a_hash(settings):
    settings.VK_REQUESTS_PER_SECOND = 4
    clock = [1000.0]
    waits = []
    limiter = DatabaseRateLimiter(clock=lambda: clock[0], margin=0.1, sleep=waits.append)
    key = token_key("vk1.a.secret-token")
    assert limiter.acquire(key) == 0
    assert limiter.acquire(key) == pytest.approx(0.275)
    assert limiter.acquire(key) == pytest.approx(0.55)
    clock[0] += 10  # idle for a while: the next request goes at once
    assert limiter.acquire(key) == 0
    assert waits == [pytest.approx(0.275), pytest.approx(0.55)]
    row = VkRateLimitSlot.objects.get()
    assert row.key == key and "secret" not in row.key


@pytest.mark.django_db
def test_database_limiter_ignores_a_reservation_from_a_clock_that_went_back(settings):
    settings.VK_REQUESTS_PER_SECOND = 3
    VkRateLimitSlot.objects.create(key="k", next_slot_us=int(5_000 * 1e6))
    limiter = DatabaseRateLimiter(clock=lambda: 1000.0, sleep=lambda s: None)
    assert limiter.acquire("k") == 0


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")
def test_redis_limiter_reserves_slots_on_redis_time(settings):
    settings.VK_REQUESTS_PER_SECOND = 10
    settings.VK_RATE_LIMIT_MARGIN = 0.1
    waits = []
    limiter = RedisRateLimiter(
        REDIS_URL, prefix=f"test-{uuid.uuid4().hex[:8]}:", sleep=waits.append
    )
    results = [limiter.acquire("k") for _ in range(4)]
    assert results[0] == 0
    # Each reservation is one interval (0.11 s) after the previous, minus the time that passed.
    assert results[1] == pytest.approx(0.11, abs=0.02)
    assert results[3] == pytest.approx(0.33, abs=0.03)


def test_local_limiter_and_margin(settings):
    settings.VK_REQUESTS_PER_SECOND = 3
    settings.VK_RATE_LIMIT_MARGIN = 0.2
    limiter = LocalRateLimiter(sleep=lambda s: None)
    assert limiter.interval == pytest.approx(1 / 3 * 1.2)
    waits = [limiter.acquire("k") for _ in range(3)]
    assert waits[2] == pytest.approx(2 * limiter.interval, abs=0.01)


def test_the_margin_comes_from_settings_unless_given(settings):
    settings.VK_REQUESTS_PER_SECOND = 3
    settings.VK_RATE_LIMIT_MARGIN = 0.07
    assert LocalRateLimiter().interval == pytest.approx(1 / 3 * 1.07)
    assert LocalRateLimiter(margin=0.5).interval == pytest.approx(1 / 3 * 1.5)


def test_default_limiter_follows_redis_url(settings):
    settings.REDIS_URL = ""
    assert isinstance(default_rate_limiter(), DatabaseRateLimiter)
    if REDIS_URL:
        settings.REDIS_URL = REDIS_URL
        assert isinstance(default_rate_limiter(), RedisRateLimiter)
