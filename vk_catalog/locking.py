"""A per-user lock, so two refreshes of one merchant's VK catalog never overlap
(evosync.locks.cache_lock)."""

from __future__ import annotations

from evosync.locks import cache_lock, cache_lock_held


def lock_key(user_id: int) -> str:
    return f"vk_catalog:refresh-lock:{user_id}"


def user_refresh_lock(user_id: int):
    """Yields True when this caller holds the lock, False when another refresh does."""
    return cache_lock(lock_key(user_id))


def refresh_lock_held(user_id: int) -> bool | None:
    """Whether a refresh holds the merchant's lock (None: the cache does not answer)."""
    return cache_lock_held(lock_key(user_id))
