"""A lock in the shared cache, for the catalog refreshes (one per merchant at a time).

EvoSync has two lock mechanisms on purpose:

- this one, in the cache (Redis, or the database cache every process sees), for the catalog
  refreshes: a refresh spends most of its time waiting on a vendor and must not hold a
  transaction open meanwhile; it runs for minutes at most, so expiring after the task timeout
  is enough for a worker killed mid-run never to lock a merchant out for good;
- `sync.locks` (a database row per merchant) for publishing: a first publish can run for
  hours and writes to VK, so its lock is renewed as it goes, is taken over at once from a
  process of the same host that died (SIGKILL, OOM), and must hold even when the cache is
  flushed or restarted (two publishers at once would create items twice in VK).

`cache.add` is atomic on both cache backends, so two workers never both get this one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def task_lock_seconds() -> int:
    """How long a lock outlives its holder at most: django-q2 kills a task at Q_TIMEOUT."""
    return int(getattr(settings, "Q_TIMEOUT", 1800)) + 60


@contextmanager
def cache_lock(key: str) -> Iterator[bool]:
    """Yields True when this caller now holds the lock under `key`, False when another does."""
    token = uuid.uuid4().hex
    acquired = cache.add(key, token, timeout=task_lock_seconds())
    try:
        yield acquired
    finally:
        # Only the holder releases, and only its own lock (it may have expired and been
        # taken by the next run while this one was stuck).
        if acquired and cache.get(key) == token:
            cache.delete(key)


def cache_lock_held(key: str) -> bool | None:
    """Whether someone holds the lock under `key`; None when the cache does not answer (pages
    that only read must survive a cache outage)."""
    try:
        return cache.get(key) is not None
    except Exception:
        logger.warning("the cache did not answer", exc_info=True)
        return None
