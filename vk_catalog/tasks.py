"""django-q2 tasks of the VK catalog: thin, keyed by primary keys, safe to run twice."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model

from vk_catalog.models import RefreshStatus, VkCatalogRefresh
from vk_catalog.services import (
    VkCatalogUnavailable,
    vk_catalog_enqueue_refresh,
    vk_catalog_refresh_for_user,
    vk_catalog_usable_connections,
)

logger = logging.getLogger(__name__)


def refresh_vk_catalog_for_user(user_id: int, refresh_id: int | None = None) -> str:
    """Refresh one merchant's VK catalog; returns the run's status (shown in the queue admin).

    `refresh_id`: the queued row this task was sent for; if it is no longer queued (another
    task answered it, or it was given up), this one does nothing.
    """
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return "no-user"
    if (
        refresh_id is not None
        and not VkCatalogRefresh.objects.filter(
            pk=refresh_id, user=user, status=RefreshStatus.QUEUED
        ).exists()
    ):
        return "skipped"
    try:
        run = vk_catalog_refresh_for_user(user=user)
    except VkCatalogUnavailable as exc:
        logger.info(
            "VK catalog refresh skipped",
            extra={"user_id": user_id, "reason": type(exc).__name__},
        )
        return "skipped"
    return run.status


def refresh_vk_catalog_all() -> int:
    """Fan out: queue one refresh per usable VK connection; returns how many were queued.

    Each merchant runs in a task of their own, so one merchant's failure (or slowness) never
    touches the others; a merchant whose refresh is still queued or running is left alone.
    """
    queued = 0
    for connection in vk_catalog_usable_connections():
        try:
            _run, queued_now = vk_catalog_enqueue_refresh(user=connection.user)
        except Exception:
            logger.exception(
                "Could not queue a VK catalog refresh", extra={"user_id": connection.user_id}
            )
            continue
        queued += int(queued_now)
    return queued
