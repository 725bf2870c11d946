"""Background tasks of publishing (django-q2). Thin: primary keys in, one service call.

`sync_all` is the periodic fan-out (sync/schedules.py): one run per merchant, each its own
task, so one merchant's failure never stops the others; the per-merchant lock (sync/locks.py)
keeps two runs of one merchant from overlapping however the tasks arrive.
"""

from __future__ import annotations

import logging

from sync.models import RunTrigger, SyncRun

logger = logging.getLogger(__name__)


def sync_user(user_id: int, trigger: str = RunTrigger.SCHEDULE, run_id: int | None = None) -> dict:
    """Publish one merchant's catalog: the queued run `run_id`, or a new one.

    Safe to run twice: a run that is no longer queued is left alone. Without `run_id` (a task
    queued before runs carried their id) the run starts only if `sync_run_start_check` allows.
    """
    from accounts.models import User
    from sync.lifecycle import sync_run_create, sync_run_start_check
    from sync.publish.run import sync_run_execute

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return {"status": "skipped", "reason": "no such active user"}
    if run_id is not None:
        run = SyncRun.objects.filter(pk=run_id, user=user).first()
        if run is None:
            return {"status": "skipped", "reason": "no such run"}
    else:
        check = sync_run_start_check(user, trigger=trigger)
        if check.refusal is not None:
            return {"status": "skipped", "reason": check.refusal.code}
        if check.live is not None:
            return {"status": "skipped", "reason": "a run is already queued or running"}
        run = sync_run_create(user=user, trigger=trigger)
    run = sync_run_execute(run=run)
    return {"status": run.status, "run_id": run.pk}


def sync_all() -> int:
    """Start a run for every merchant whose automatic publishing is on (each executed by a
    task of its own). Returns how many were started."""
    from accounts.models import User
    from sync.lifecycle import StartRefused, sync_run_request, users_to_sync

    started = 0
    for user in User.objects.filter(pk__in=users_to_sync()).order_by("pk"):
        try:
            _run, started_now = sync_run_request(user=user, trigger=RunTrigger.SCHEDULE)
        except StartRefused as refused:
            logger.info(
                "scheduled sync not started", extra={"user_id": user.pk, "reason": refused.code}
            )
            continue
        except Exception:
            logger.exception("starting a scheduled sync failed", extra={"user_id": user.pk})
            continue
        started += int(started_now)
    return started


def publish_changes(user_id: int) -> dict:
    """Publish the merchant's products changed in Evotor once they are due (sync/debounce.py):
    a targeted run of those products only. Safe to run twice: the second finds nothing due."""
    from accounts.models import User
    from sync.debounce import changes_publish_when_due

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return {"status": "skipped", "reason": "no such active user"}
    return {"status": changes_publish_when_due(user=user)}


def publish_changes_dispatch(token: str) -> int:
    """Send each merchant's targeted publish when its changes are due (sync/debounce.py)."""
    from sync.debounce import changes_dispatch

    return changes_dispatch(token=token)


def publish_changes_sweep() -> int:
    """Send again the targeted publishes whose task was lost (sync/debounce.py)."""
    from sync.debounce import changes_sweep

    return changes_sweep()


def compute_preview(user_id: int, preview_id: int) -> dict:
    """Compute a merchant's preview for the page (sync/preview_jobs.py): a whole-catalog plan,
    written nowhere but in the preview. Safe to run twice: a preview no longer queued is left
    alone."""
    from accounts.models import User
    from sync.preview_jobs import preview_compute

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return {"status": "skipped", "reason": "no such active user"}
    return {"status": str(preview_compute(user=user, preview_id=preview_id))}
