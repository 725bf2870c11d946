"""One request-rate limit per VK token, shared by every worker process (docs/contracts/vk-market-api.md §6).

VK lets a user token send 3 API requests per second and answers error 6 beyond that. VK counts
requests when they reach it, so the limit is kept on what actually left, not on when a request
was allowed to leave: a worker that loses its core between the two (a loaded host, a busy
interpreter) must not let the next request through early (issue 11).

A sliding log per token: the times of its last requests. `acquire` atomically checks that
fewer than `count` requests are in the current window (`count` = VK_REQUESTS_PER_SECOND,
window = 1 s × (1 + VK_RATE_LIMIT_MARGIN)) and adds a *reservation* for this one. Until the
request has been written to the socket, the reservation counts as "any moment now" (its score
is acquire time + PENDING_TTL_SECONDS, always inside the window); `Permit.sent()` then replaces
it with the time at which the request was written, taken after the write, so the log never
holds a time earlier than when the request left. Hence for any `count + 1` requests, the last
one was acquired at least one window after the first one had been written.

Two stores, chosen by settings.REDIS_URL:
- Redis: a sorted set per token, changed by Lua scripts on Redis's own clock, so every host
  shares one clock.
- the database: `VkRateLimitSend` rows per token, changed under a lock on the token's
  `VkRateLimitSlot` row (SQLite's write lock). The hosts' clocks must agree (NTP) within the
  margin. Call it outside long transactions: the lock row stays locked until the surrounding
  transaction commits, which would make other workers wait that long.

The key is a hash of the token, never the token.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction

from connections.vk_errors import NO_ANSWER, VkLimiterUnavailableError

logger = logging.getLogger(__name__)

# Extra length of the one-second window as a share of it (settings.VK_RATE_LIMIT_MARGIN): the
# log times are taken on this side after each write, so a stall here (a descheduled thread, a
# slow store) is already in them, and the margin only covers how much longer one request may
# take than another to reach VK (network jitter) before VK sees `count + 1` in its second.
# 30 ms: the reasoning is at the setting.
DEFAULT_MARGIN = 0.03
# A reservation whose request never reported itself sent (the process died, or hung) counts as
# sent at acquire time + this; long enough for a connect timeout and the write of the body.
PENDING_TTL_SECONDS = 30.0
# How long to wait before looking again when the window is full of requests still being sent.
PENDING_POLL_SECONDS = 0.02
# Keys expire once idle for this long (Redis), so tokens that are gone leave nothing behind.
IDLE_TTL_SECONDS = 3600


def token_key(access_token: str) -> str:
    """A stable, non-reversible name for a token's log."""
    return hashlib.sha256(access_token.encode()).hexdigest()[:40]


class Permit:
    """One request's place in its token's window; report `sent()` once it has been written."""

    def __init__(self, limiter: _WindowLimiter, key: str, ticket: str, waited: float):
        self._limiter = limiter
        self._key = key
        self.ticket = ticket
        self.waited = waited
        self._done = False
        self._lock = threading.Lock()

    @property
    def done(self) -> bool:
        return self._done

    def sent(self) -> None:
        """Records "now" as the moment the request left. Call it right after the request was
        written (or failed to be); only the first call counts, so a late one is harmless."""
        with self._lock:
            if self._done:
                return
            self._limiter._record_sent(self._key, self.ticket)
            self._done = True


class RateLimiter(Protocol):
    def acquire(self, key: str) -> Permit:
        """Blocks until `key` may send one request; the permit says how long it waited."""


class _WindowLimiter:
    """The check and the waiting; subclasses keep the log (`_try`, `_record_sent`)."""

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

    def window(self) -> tuple[int, int]:
        """(requests allowed, window in µs), read from settings at each use.

        At `rps` ≥ 1: ⌊rps⌋ requests per ⌊rps⌋/rps seconds (3/s: 3 per second, as VK counts);
        below 1/s: one request per 1/rps seconds. Both stretched by the margin."""
        rps = float(self._rps or settings.VK_REQUESTS_PER_SECOND)
        if not rps > 0:
            raise ValueError("VK_REQUESTS_PER_SECOND must be positive")
        margin = (
            self._margin
            if self._margin is not None
            else float(getattr(settings, "VK_RATE_LIMIT_MARGIN", DEFAULT_MARGIN))
        )
        count = max(1, math.floor(rps))
        return count, round(count / rps * (1.0 + margin) * 1_000_000)

    @property
    def interval(self) -> float:
        """Average seconds between two requests of one token at full speed."""
        count, window_us = self.window()
        return window_us / count / 1_000_000

    def acquire(self, key: str) -> Permit:
        waited = 0.0
        while True:
            count, window_us = self.window()
            ticket = secrets.token_hex(8)
            wait = self._try(key, ticket, count, window_us)
            if wait is None:
                return Permit(self, key, ticket, waited)
            self._sleep(wait)
            waited += wait

    def _try(self, key: str, ticket: str, count: int, window_us: int) -> float | None:
        """Reserves a place for `ticket` and returns None, or the seconds to wait first."""
        raise NotImplementedError

    def _record_sent(self, key: str, ticket: str) -> None:
        raise NotImplementedError


def _decide(recent_desc: list[int], now_us: int, count: int, window_us: int) -> float | None:
    """None when a request may leave now, else the seconds to wait.

    `recent_desc`: the scores inside the window, newest first, at most `count` of them."""
    if len(recent_desc) < count:
        return None
    oldest = recent_desc[count - 1]
    if oldest > now_us:
        # The window is full of requests still being sent: their real times come soon.
        return PENDING_POLL_SECONDS
    return (oldest + window_us - now_us) / 1_000_000


# KEYS[1] the token's sorted set; ARGV: count, window µs, pending TTL µs, ticket, idle TTL ms,
# and a fixed "now" in µs for tests ('' = Redis's clock). Numbers are formatted with %.0f:
# Lua 5.1 would print µs timestamps in exponent form and lose their last digits.
_REDIS_NOW = """
local now
if ARGV[6] ~= '' then
  now = tonumber(ARGV[6])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
"""

_ACQUIRE_SCRIPT = (
    _REDIS_NOW
    + """
local count, window, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local floor = string.format('%.0f', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', floor)
local recent = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', '(' .. floor,
                          'WITHSCORES', 'LIMIT', 0, count)
local scores = {}
for i = 2, #recent, 2 do scores[#scores + 1] = string.format('%.0f', tonumber(recent[i])) end
if #scores < count then
  redis.call('ZADD', KEYS[1], string.format('%.0f', now + ttl), ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return {1, string.format('%.0f', now), scores}
end
return {0, string.format('%.0f', now), scores}
"""
)

_SENT_SCRIPT = (
    _REDIS_NOW
    + """
redis.call('ZADD', KEYS[1], string.format('%.0f', now), ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return string.format('%.0f', now)
"""
)


class RedisRateLimiter(_WindowLimiter):
    """The log in a Redis sorted set per token, on the Redis server's clock."""

    def __init__(
        self,
        url: str | None = None,
        prefix: str = "evosync:vk-rate:",
        *,
        clock: Callable[[], float] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        import redis

        self._redis = redis.Redis.from_url(url or settings.REDIS_URL)
        self._acquire_script = self._redis.register_script(_ACQUIRE_SCRIPT)
        self._sent_script = self._redis.register_script(_SENT_SCRIPT)
        self._prefix = prefix
        self._clock = clock  # tests only; None = Redis's own clock

    def _args(self, ticket: str, count: int = 0, window_us: int = 0) -> list:
        now = "" if self._clock is None else str(int(self._clock() * 1_000_000))
        ttl_us = int(PENDING_TTL_SECONDS * 1_000_000)
        return [count, window_us, ttl_us, ticket, IDLE_TTL_SECONDS * 1000, now]

    def _try(self, key: str, ticket: str, count: int, window_us: int) -> float | None:
        import redis

        try:
            granted, now_us, scores = self._acquire_script(
                keys=[self._prefix + key], args=self._args(ticket, count, window_us)
            )
        except redis.exceptions.RedisError as exc:
            # Sending without a place in the window could break VK's limit for every worker:
            # nothing is sent, and the caller stops with a typed error it can explain.
            raise VkLimiterUnavailableError(
                NO_ANSWER, f"the rate limiter's Redis is not answering ({type(exc).__name__})"
            ) from None
        if int(granted):
            return None
        return _decide([int(s) for s in scores], int(now_us), count, window_us)

    def _record_sent(self, key: str, ticket: str) -> None:
        import redis

        try:
            self._sent_script(keys=[self._prefix + key], args=self._args(ticket))
        except redis.exceptions.RedisError:
            # The request has gone: raising here would lose VK's answer. The reservation stays
            # pending until PENDING_TTL_SECONDS, which only makes the window stricter.
            logger.warning("the rate limiter could not record a send", exc_info=True)


class DatabaseRateLimiter(_WindowLimiter):
    """The log in `VkRateLimitSend` rows, under a lock on the token's `VkRateLimitSlot` row."""

    def __init__(self, *, clock: Callable[[], float] = time.time, **kwargs):
        super().__init__(**kwargs)
        self._clock = clock

    def _now_us(self) -> int:
        return int(self._clock() * 1_000_000)

    def _try(self, key: str, ticket: str, count: int, window_us: int) -> float | None:
        from connections.models import VkRateLimitSend, VkRateLimitSlot

        def attempt() -> float | None:
            with transaction.atomic():
                # The lock row serializes the check and the reservation across processes.
                lock = VkRateLimitSlot.objects.select_for_update().filter(key=key)
                if not list(lock.values_list("key", flat=True)):
                    # Two processes may both insert it: one wins, the other retries
                    # (IntegrityError below) and then finds the row.
                    VkRateLimitSlot.objects.create(key=key)
                now_us = self._now_us()
                sends = VkRateLimitSend.objects.filter(key=key)
                sends.filter(at_us__lte=now_us - window_us).delete()
                recent = list(sends.order_by("-at_us").values_list("at_us", flat=True)[:count])
                wait = _decide(recent, now_us, count, window_us)
                if wait is None:
                    pending_us = now_us + int(PENDING_TTL_SECONDS * 1_000_000)
                    VkRateLimitSend.objects.create(key=key, ticket=ticket, at_us=pending_us)
                return wait

        return self._retrying(attempt)

    def _record_sent(self, key: str, ticket: str) -> None:
        from connections.models import VkRateLimitSend

        # Read before waiting for the database: already after the write, so no earlier than
        # the request left, and not pushed later by other workers holding the lock.
        now_us = self._now_us()

        def attempt() -> None:
            with transaction.atomic():
                if not VkRateLimitSend.objects.filter(ticket=ticket).update(at_us=now_us):
                    # Past its pending TTL the reservation may have been cleared away.
                    VkRateLimitSend.objects.create(key=key, ticket=ticket, at_us=now_us)

        self._retrying(attempt)

    @staticmethod
    def _retrying(attempt: Callable[[], float | None]) -> float | None:
        for number in range(50):
            try:
                return attempt()
            except IntegrityError:
                # Lost the race to insert the token's lock row: the row exists now.
                if number == 49:
                    raise
            except OperationalError:
                # SQLite's "database is locked" past its busy timeout; retrying inside a caller's
                # transaction cannot help, so only a top-level call retries.
                if number == 49 or transaction.get_connection().in_atomic_block:
                    raise
                time.sleep(0.005 * (number + 1))
        raise RuntimeError("unreachable")


class LocalRateLimiter(_WindowLimiter):
    """The log in this process only: for scripts and unit tests, never for workers."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, **kwargs):
        super().__init__(**kwargs)
        self._clock = clock
        self._lock = threading.Lock()
        self._log: dict[str, dict[str, int]] = {}

    def _now_us(self) -> int:
        return int(self._clock() * 1_000_000)

    def _try(self, key: str, ticket: str, count: int, window_us: int) -> float | None:
        with self._lock:
            now_us = self._now_us()
            log = self._log.setdefault(key, {})
            for old in [t for t, at in log.items() if at <= now_us - window_us]:
                del log[old]
            recent = sorted(log.values(), reverse=True)[:count]
            wait = _decide(recent, now_us, count, window_us)
            if wait is None:
                log[ticket] = now_us + int(PENDING_TTL_SECONDS * 1_000_000)
            return wait

    def _record_sent(self, key: str, ticket: str) -> None:
        with self._lock:
            self._log.setdefault(key, {})[ticket] = self._now_us()


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
