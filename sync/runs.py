"""A publishing run's lifecycle: the run rows, starting and queueing them, alerts.

The services the pages call (`sync_run_start`, `sync_run_retry_failed`,
`sync_run_confirm_held`, `sync_run_cancel_held`) live here; executing a run is
sync/publish/run.py (`sync_run_execute`), the preview sync/plan/preview.py (`sync_run_preview`).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from connections.models import EvotorConnection, VkConnection
from sync.models import AlertCause, RunStatus, RunTrigger, StopCause, SyncRun

logger = logging.getLogger(__name__)


def merchant_language():
    """The language of what a run stores for the merchant (run errors, alerts, their e-mails):
    the site's, Russian, whatever page or command started the run. Item reasons of our own are
    stored as codes and put into words by whoever shows them (sync.reasons)."""
    return translation.override(settings.LANGUAGE_CODE)


# --- run rows ---------------------------------------------------------------------------------
def sync_run_create(
    *,
    user,
    trigger: str = RunTrigger.MANUAL,
    dry_run: bool = False,
    confirmed_removals: int = 0,
) -> SyncRun:
    """A queued run row (the worker or the command then executes it). `confirmed_removals`:
    how many hides and deletes the merchant already confirmed (the removal guard lets a plan
    removing no more through)."""
    return SyncRun.objects.create(
        user=user,
        trigger=trigger,
        dry_run=dry_run,
        confirmed_removals=max(0, int(confirmed_removals or 0)),
        status=RunStatus.QUEUED,
    )


def _save(run: SyncRun, *fields: str) -> None:
    SyncRun.objects.filter(pk=run.pk).update(**{name: getattr(run, name) for name in fields})


def _finish(run: SyncRun, status: str, *, error: str = "", stop_cause: str = "") -> SyncRun:
    run.status = status
    run.error = error
    run.stop_cause = stop_cause
    run.finished_at = timezone.now()
    _save(
        run,
        "status",
        "error",
        "stop_cause",
        "finished_at",
        "total",
        *SyncRun.COUNTERS,
        "vk_requests",
        "plan_summary",
        "started_at",
    )
    logger.info(
        "sync run finished",
        extra={
            "user_id": run.user_id,
            "run_id": run.pk,
            "status": status,
            "stop_cause": stop_cause,
            "items_created": run.created,
            "items_updated": run.updated,
            "items_hidden": run.hidden,
            "items_deleted": run.deleted,
            "items_failed": run.failed,
            "items_skipped": run.skipped,
            "vk_requests": run.vk_requests,
        },
    )
    return run


def interrupted_message() -> str:
    return _(
        "The run was interrupted (the worker stopped). The next run carried on where it "
        "left off; nothing was published twice."
    )


def _interrupt_stale_runs(user, *, keep: SyncRun) -> None:
    """Runs left `planning`/`running` by a worker that died: we hold the lock, so they are dead."""
    SyncRun.objects.filter(user=user, status__in=(RunStatus.PLANNING, RunStatus.RUNNING)).exclude(
        pk=keep.pk
    ).update(status=RunStatus.FAILED, finished_at=timezone.now(), error=interrupted_message())


# --- alerts -----------------------------------------------------------------------------------
def _alert(user, cause: str, message: str) -> None:
    try:
        from sync.alerts import alert_raise
    except ImportError:  # the pages' half is not installed: the run row still says why
        return
    try:
        alert_raise(user=user, cause=cause, message=message)
    except Exception:
        logger.exception("raising an alert failed", extra={"user_id": user.pk, "cause": cause})


def _resolve_alerts(user, *causes: str) -> None:
    try:
        from sync.alerts import alert_resolve
    except ImportError:
        return
    for cause in causes:
        alert_resolve(user=user, cause=cause)


def _mark_vk_broken(connection: VkConnection, message: str) -> None:
    try:
        from connections.vk_services import vk_connection_mark_broken
    except ImportError:
        return
    vk_connection_mark_broken(connection, message)


def _mark_evotor_broken(user, message: str) -> None:
    from connections.evotor_services import evotor_connection_mark_broken

    connection = EvotorConnection.objects.filter(user=user).first()
    if connection is not None:
        evotor_connection_mark_broken(connection, message)


def _enqueue(run: SyncRun) -> None:
    from django_q.tasks import async_task

    def send():
        async_task(
            "sync.tasks.sync_user",
            run.user_id,
            run.trigger,
            run.pk,
            task_name=f"sync_to_vk:{run.user_id}:{run.pk}",
            group="sync_to_vk",
        )

    transaction.on_commit(send)


def users_to_sync() -> list[int]:
    """Merchants the schedule publishes for: active, VK usable, first publish done, automatic
    publishing on (the token is encrypted, so it is checked in Python)."""
    from connections.models import ConnectionState
    from sync.models import SyncSettings

    user_ids = set(
        SyncSettings.objects.filter(
            auto_sync=True, first_published_at__isnull=False, user__is_active=True
        ).values_list("user_id", flat=True)
    )
    connections = VkConnection.objects.filter(
        user_id__in=user_ids, state=ConnectionState.OK, group_id__isnull=False
    )
    return sorted(c.user_id for c in connections if c.access_token)


def active_run(user) -> SyncRun | None:
    """The merchant's queued or running run, if one is really alive.

    A run shown running whose lock nobody holds belongs to a worker that died; a run queued for
    longer than the queue's redelivery delay was lost with its task. Both are closed here, so a
    lost task never blocks "Sync now" for good.
    """
    from datetime import timedelta

    from sync.locks import sync_lock_held

    run = (
        SyncRun.objects.filter(user=user, status__in=SyncRun.ACTIVE_STATUSES)
        .order_by("-created_at", "-pk")
        .first()
    )
    if run is None:
        return None
    now = timezone.now()
    if run.status != RunStatus.QUEUED and not sync_lock_held(run.user_id):
        with merchant_language():
            error = interrupted_message()
        SyncRun.objects.filter(pk=run.pk, status=run.status).update(
            status=RunStatus.FAILED, finished_at=now, error=error
        )
        return None
    redelivery = int(getattr(settings, "Q_CLUSTER", {}).get("retry", 2400))
    if run.status == RunStatus.QUEUED and run.created_at < now - timedelta(seconds=redelivery):
        with merchant_language():
            error = _("The run was queued but never started; start a new one.")
        SyncRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.FAILED, finished_at=now, error=error
        )
        return None
    return run


@transaction.atomic
def sync_run_start(*, user, trigger: str = RunTrigger.MANUAL, confirm_removals: int = 0) -> SyncRun:
    """Queue a run for the merchant (the worker picks it up after commit). A run already queued
    or in progress is returned instead of a second one.

    `confirm_removals`: the number of hides and deletes the merchant confirmed on the preview
    (the count it showed). The removal guard lets the run through if its plan removes no more;
    one that now removes more is held and asks again.
    """
    if isinstance(confirm_removals, bool):
        raise TypeError("confirm_removals is the number of removals confirmed, not a flag.")
    existing = active_run(user)
    if existing is not None:
        return existing
    run = sync_run_create(user=user, trigger=trigger, confirmed_removals=confirm_removals)
    _enqueue(run)
    return run


@transaction.atomic
def sync_run_confirm_held(*, run: SyncRun) -> SyncRun:
    """The merchant confirmed a run the removal guard held: queue it again, allowed to remove
    as many items as it was held for (a plan removing more is held again)."""
    run = SyncRun.objects.select_for_update().get(pk=run.pk)
    if run.status != RunStatus.HELD:
        return run
    held_for = int((run.plan_summary or {}).get("removals") or 0)
    run.status = RunStatus.QUEUED
    run.confirmed_removals = max(run.confirmed_removals, held_for)
    run.error = ""
    run.stop_cause = ""
    run.finished_at = None
    run.save(update_fields=["status", "confirmed_removals", "error", "stop_cause", "finished_at"])
    _resolve_alerts(run.user, AlertCause.REMOVAL_GUARD)
    _enqueue(run)
    return run


@transaction.atomic
def sync_run_cancel_held(*, run: SyncRun) -> SyncRun:
    """The merchant refused a held run: it ends without applying anything (nothing hidden or
    deleted) and, when no other run waits, the alert goes. The guard asks again if the next
    plan still removes as much."""
    run = SyncRun.objects.select_for_update().get(pk=run.pk)
    if run.status != RunStatus.HELD:
        return run
    run.status = RunStatus.STOPPED
    run.stop_cause = StopCause.REMOVAL_GUARD
    with merchant_language():
        run.error = _("Cancelled by you: nothing was hidden or deleted.")
    run.finished_at = run.finished_at or timezone.now()
    run.save(update_fields=["status", "stop_cause", "error", "finished_at"])
    if not SyncRun.objects.filter(user_id=run.user_id, status=RunStatus.HELD).exists():
        _resolve_alerts(run.user, AlertCause.REMOVAL_GUARD)
    return run


@transaction.atomic
def sync_run_retry_failed(*, run: SyncRun) -> SyncRun:
    """ "Retry failed": a new run (trigger retry). Failed items are always retried by any run;
    this one just comes now instead of at the next schedule."""
    existing = active_run(run.user)
    if existing is not None:
        return existing
    new = sync_run_create(user=run.user, trigger=RunTrigger.RETRY)
    _enqueue(new)
    return new
