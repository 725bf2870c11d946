"""Background tasks of publishing (django-q2). Thin: primary keys in, one service call.

`sync_all` is the periodic fan-out (sync/schedules.py): one `sync_user` task per merchant, so
one merchant's failure never stops the others; the per-merchant lock (sync/locks.py) keeps two
runs of one merchant from overlapping however the tasks arrive.
"""

from __future__ import annotations

import logging

from django_q.tasks import async_task

from sync.models import RunTrigger, SyncRun

logger = logging.getLogger(__name__)


def sync_user(user_id: int, trigger: str = RunTrigger.SCHEDULE, run_id: int | None = None) -> dict:
    """Publish one merchant's catalog: the queued run `run_id`, or a new one.

    Safe to run twice: a run that is no longer queued is left alone, and a new automatic run is
    not made while another is queued or in progress, or before the merchant's first publish went
    through the preview (until then automation only plans, on the preview page).
    """
    from accounts.models import User
    from sync.locks import sync_lock_held
    from sync.plan.inputs import sync_settings_get
    from sync.publish.run import sync_run_execute
    from sync.runs import active_run, sync_run_create

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return {"status": "skipped", "reason": "no such active user"}
    if run_id is not None:
        run = SyncRun.objects.filter(pk=run_id, user=user).first()
        if run is None:
            return {"status": "skipped", "reason": "no such run"}
    else:
        settings_obj = sync_settings_get(user)
        if trigger != RunTrigger.MANUAL and (
            settings_obj.first_published_at is None or not settings_obj.auto_sync
        ):
            return {"status": "skipped", "reason": "automatic publishing is off"}
        if active_run(user) is not None or sync_lock_held(user.pk):
            return {"status": "skipped", "reason": "a run is already queued or running"}
        run = sync_run_create(user=user, trigger=trigger)
    run = sync_run_execute(run=run)
    return {"status": run.status, "run_id": run.pk}


def sync_all() -> int:
    """Enqueue a sync for every merchant whose automatic publishing is on. Returns how many."""
    from sync.runs import users_to_sync

    user_ids = list(users_to_sync())
    for user_id in user_ids:
        async_task(
            "sync.tasks.sync_user",
            user_id,
            RunTrigger.SCHEDULE,
            task_name=f"sync_to_vk:{user_id}",
            group="sync_to_vk",
        )
    return len(user_ids)
