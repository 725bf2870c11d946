"""A per-user lock, so two refreshes of one merchant's VK catalog never overlap
(evosync.locks.cache_lock)."""

from __future__ import annotations

from evosync.locks import cache_lock


def lock_key(user_id: int) -> str:
    return f"vk_catalog:refresh-lock:{user_id}"


def user_refresh_lock(user_id: int):
    """Yields True when this caller holds the lock, False when another refresh does."""
    return cache_lock(lock_key(user_id))
