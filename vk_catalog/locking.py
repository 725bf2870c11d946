"""A per-user lock, so two refreshes of one merchant's VK catalog never overlap.

It lives in the shared cache (Redis, or the database cache every process sees), not in a
database row: a refresh spends most of its time waiting on VK and must not hold a transaction
open meanwhile. The lock expires on its own after the task timeout, so a worker killed mid-run
never locks the merchant out for good.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache


def lock_key(user_id: int) -> str:
    return f"vk_catalog:refresh-lock:{user_id}"


def lock_timeout() -> int:
    # Never shorter than the task timeout: django-q2 kills a task that runs longer.
    return int(getattr(settings, "Q_TIMEOUT", 1800)) + 60


@contextmanager
def user_refresh_lock(user_id: int) -> Iterator[bool]:
    """Yields True when this caller holds the lock, False when another refresh does."""
    key = lock_key(user_id)
    token = uuid.uuid4().hex
    acquired = cache.add(key, token, timeout=lock_timeout())
    try:
        yield acquired
    finally:
        # Only the holder releases, and only its own lock (it may have expired and been
        # taken by the next run while this one was stuck).
        if acquired and cache.get(key) == token:
            cache.delete(key)


def is_locked(user_id: int) -> bool:
    return cache.get(lock_key(user_id)) is not None
