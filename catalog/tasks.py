"""Background tasks of the catalog (django-q2). Thin: a primary key in, one service call."""

from __future__ import annotations

import logging

from catalog import services
from catalog.models import CatalogRefresh, RefreshStatus
from evosync.runs import enqueue_task

logger = logging.getLogger(__name__)

REFRESH_TASK = "catalog.tasks.refresh_catalog_for_user"


def refresh_catalog_for_user(user_id: int, refresh_id: int | None = None) -> dict:
    """Refresh one user's cached Evotor catalog; safe to run twice (the second one waits out).

    `refresh_id`: the queued row this task was sent for; if it is no longer queued (another
    task answered it, or it was given up), this one does nothing. The Evotor webhook
    `/user/token` enqueues this task without one when a token arrives.
    """
    from accounts.models import User

    user = User.objects.filter(pk=user_id).first()
    if user is None:
        logger.info("catalog refresh for a deleted user skipped", extra={"user_id": user_id})
        return {"status": "skipped"}
    if (
        refresh_id is not None
        and not CatalogRefresh.objects.filter(
            pk=refresh_id, user=user, status=RefreshStatus.QUEUED
        ).exists()
    ):
        return {"status": "skipped", "refresh_id": refresh_id}
    return services.catalog_refresh_for_user(user=user).as_dict()


def refresh_catalog_all() -> int:
    """The periodic fan-out: one refresh task per user with a usable Evotor connection.

    Each user's refresh is its own task, so one merchant's failure never stops the others; a
    merchant whose refresh still waits in the queue gets no second one (so a backlog cannot
    grow from one cycle to the next). Returns how many were enqueued.
    """
    from catalog.selectors import users_to_refresh

    return sum(
        enqueue_task(REFRESH_TASK, user_id, user_id=user_id).sent for user_id in users_to_refresh()
    )


CHANGES_TASK = "catalog.tasks.read_changes_for_user"


def read_changes_for_user(user_id: int) -> dict:
    """One merchant's incremental (`since`) read of products and groups; safe to run twice."""
    from accounts.models import User
    from catalog.changes import catalog_changes_read

    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return {"status": "skipped"}
    return catalog_changes_read(user=user).as_dict()


def read_changes_all() -> int:
    """The `poll` intake's fan-out (EVOTOR_INTAKE has `poll`): one read per merchant."""
    from django.conf import settings

    from catalog.selectors import users_to_refresh

    if "poll" not in settings.EVOTOR_INTAKE:
        return 0
    # A merchant whose previous read still waits gets no second one.
    return sum(
        enqueue_task(CHANGES_TASK, user_id, user_id=user_id).sent for user_id in users_to_refresh()
    )
