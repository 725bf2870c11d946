"""Background tasks of the catalog (django-q2). Thin: a primary key in, one service call."""

from __future__ import annotations

import logging

from django_q.tasks import async_task

from catalog import services

logger = logging.getLogger(__name__)


def refresh_catalog_for_user(user_id: int) -> dict:
    """Refresh one user's cached Evotor catalog; safe to run twice (the second one waits out).

    The Evotor webhook `/user/token` enqueues this exact path when a token arrives.
    """
    from accounts.models import User

    user = User.objects.filter(pk=user_id).first()
    if user is None:
        logger.info("catalog refresh for a deleted user skipped", extra={"user_id": user_id})
        return {"status": "skipped"}
    return services.catalog_refresh_for_user(user=user).as_dict()


def refresh_catalog_all() -> int:
    """The periodic fan-out: one refresh task per user with a usable Evotor connection.

    Each user's refresh is its own task, so one merchant's failure never stops the others.
    Returns how many were enqueued.
    """
    from catalog.selectors import users_to_refresh

    user_ids = list(users_to_refresh())
    for user_id in user_ids:
        async_task("catalog.tasks.refresh_catalog_for_user", user_id, group="catalog-refresh")
    return len(user_ids)
