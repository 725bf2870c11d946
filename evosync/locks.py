"""A lock in the shared cache, for work one merchant must never run twice at once.

It lives in the cache (Redis, or the database cache every process sees), not in a database
row: a refresh spends most of its time waiting on a vendor and must not hold a transaction
open meanwhile. `cache.add` is atomic on both backends, so two workers never both get it, and
the lock expires after the task timeout, so a worker killed mid-run never locks a merchant out
for good.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache


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
