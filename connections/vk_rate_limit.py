"""One request-rate limit per VK token, shared by every worker process (vk-market-api.md §6).

VK lets a user token send 3 API requests per second and answers error 6 beyond that. Every
process that talks to VK for a merchant (django-q2 workers, the web process's test button)
reserves its next slot here before each API request (`execute` included; uploads to the upload
server are not API requests). Slots are spaced `1/rps` apart plus a small safety margin, so
network jitter between two processes cannot squeeze a fourth request into VK's one-second window.

Two stores, chosen by settings.REDIS_URL:
- Redis: one atomic Lua script reserves the slot on Redis's own clock.
- the database: a `VkRateLimitSlot` row per token, updated under `select_for_update` in its
  own short transaction. Call it outside long transactions: the row stays locked until the
  surrounding transaction commits, which would make other workers wait that long.

The key is a hash of the token, never the token.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction

# Extra spacing between two slots, as a share of 1/rps (settings.VK_RATE_LIMIT_MARGIN): at 3/s
# four requests span at least 1 s + margin, so a request may arrive up to `margin` seconds late
# (network, a busy worker) before VK sees four in one second. On a heavily loaded two-core
# machine 0.1 was seen to be too little now and then (docs/benchmarks.md); the setting's default
# (0.07) is tuned for VK's ceiling on a quiet host, and an operator raises it where needed.
DEFAULT_MARGIN = 0.07
# Keys expire once idle for this long (Redis), so tokens that are gone leave nothing behind.
IDLE_TTL_SECONDS = 3600
# A reservation further ahead than this can only come from a clock that went back.
MAX_WAIT_US = 60_000_000


def token_key(access_token: str) -> str:
    """A stable, non-reversible name for a token's slot."""
    return hashlib.sha256(access_token.encode()).hexdigest()[:40]


class RateLimiter(Protocol):
    def acquire(self, key: str) -> float:
        """Blocks until `key` may send one request; returns the seconds it waited."""


class _SpacedLimiter:
    def __init__(
        self,
        requests_per_second: float | None = None,
        *,
        margin: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._rps = requests_per_second
        self._margin = margin
        self._sleep = sleep

    @property
    def interval(self) -> float:
        """Seconds between two slots of one token (read from settings at each use)."""
        rps = self._rps or float(settings.VK_REQUESTS_PER_SECOND)
        margin = (
            self._margin
            if self._margin is not None
            else float(getattr(settings, "VK_RATE_LIMIT_MARGIN", DEFAULT_MARGIN))
        )
        return (1.0 / rps) * (1.0 + margin)

    def acquire(self, key: str) -> float:
        wait = self._reserve(key, int(self.interval * 1_000_000))
        if wait > 0:
            self._sleep(wait)
        return max(0.0, wait)

    def _reserve(self, key: str, interval_us: int) -> float:
        raise NotImplementedError


_RESERVE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = now
if nxt > now then slot = nxt end
redis.call('SET', KEYS[1], slot + tonumber(ARGV[1]), 'EX', tonumber(ARGV[2]))
return slot - now
"""


class RedisRateLimiter(_SpacedLimiter):
    """Slots reserved atomically in Redis on the Redis server's clock."""

    def __init__(self, url: str | None = None, prefix: str = "evosync:vk-rate:", **kwargs):
        super().__init__(**kwargs)
        import redis

        self._redis = redis.Redis.from_url(url or settings.REDIS_URL)
        self._script = self._redis.register_script(_RESERVE_SCRIPT)
        self._prefix = prefix

    def _reserve(self, key: str, interval_us: int) -> float:
        wait_us = self._script(keys=[self._prefix + key], args=[interval_us, IDLE_TTL_SECONDS])
        return int(wait_us) / 1_000_000


class DatabaseRateLimiter(_SpacedLimiter):
    """Slots reserved in the `VkRateLimitSlot` table (row lock; SQLite's write lock)."""

    def __init__(self, *, clock: Callable[[], float] = time.time, **kwargs):
        super().__init__(**kwargs)
        self._clock = clock

    def _reserve(self, key: str, interval_us: int) -> float:
        from connections.models import VkRateLimitSlot

        for attempt in range(50):
            try:
                with transaction.atomic():
                    now_us = int(self._clock() * 1_000_000)
                    row = VkRateLimitSlot.objects.select_for_update().filter(key=key).first()
                    if row is None:
                        # Two processes may both insert the first row: one wins, the other
                        # retries (IntegrityError below) and then finds the row.
                        VkRateLimitSlot.objects.create(key=key, next_slot_us=now_us + interval_us)
                        return 0.0
                    slot = max(now_us, row.next_slot_us)
                    if slot - now_us > MAX_WAIT_US:
                        # This host's clock went back: a stale reservation, not a real queue.
                        slot = now_us
                    row.next_slot_us = slot + interval_us
                    row.save(update_fields=["next_slot_us"])
                    return (slot - now_us) / 1_000_000
            except IntegrityError:
                # Lost the race to insert the first row: the row exists now.
                if attempt == 49:
                    raise
            except OperationalError:
                # SQLite's "database is locked" past its busy timeout; retrying inside a caller's
                # transaction cannot help, so only a top-level reservation retries.
                if attempt == 49 or transaction.get_connection().in_atomic_block:
                    raise
                time.sleep(0.005 * (attempt + 1))
        raise RuntimeError("unreachable")


class LocalRateLimiter(_SpacedLimiter):
    """In-process slots (one process only): for scripts and unit tests, never for workers."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def _reserve(self, key: str, interval_us: int) -> float:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next.get(key, 0.0))
            self._next[key] = slot + interval_us / 1_000_000
            return slot - now


_default: dict[str, RateLimiter] = {}
_default_lock = threading.Lock()


def default_rate_limiter() -> RateLimiter:
    """The shared limiter of this deployment: Redis when REDIS_URL is set, else the database."""
    url = settings.REDIS_URL
    with _default_lock:
        limiter = _default.get(url)
        if limiter is None:
            limiter = RedisRateLimiter(url) if url else DatabaseRateLimiter()
            _default[url] = limiter
        return limiter
