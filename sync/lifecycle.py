"""A publishing run's life around its execution: may it start, the queued row, its task, the
held run the merchant confirms or refuses, and the end written to the row.

Execution itself (lock, plan, publish) is `sync.publish.run.sync_run_execute`. What every run model
shares (stale rows, sending the task, failing a row whose task could not be sent) is
`evosync.runs`; this module adds what is particular to publishing.

One place decides whether a run may start: `sync_run_start_check`, called by `sync_run_start`
(the pages, the schedule's fan-out, the Evotor-change hook) and by the task that starts a run
of its own (`sync.tasks.sync_user` without a run id).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from connections.models import ConnectionState, EvotorConnection, VkConnection
from evosync.runs import run_enqueue, run_interrupt_others, run_live
from sync.alerts import alert_raise, alert_resolve
from sync.locks import sync_lock_held
from sync.models import AlertCause, RunStatus, RunTrigger, StopCause, SyncRun, SyncSettings

logger = logging.getLogger(__name__)

AUTOMATIC_TRIGGERS = (RunTrigger.SCHEDULE, RunTrigger.EVOTOR_CHANGE)


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


def run_save(run: SyncRun, *fields: str) -> None:
    """Write `fields` of the run's row (an update: the row may be read by pages meanwhile)."""
    SyncRun.objects.filter(pk=run.pk).update(**{name: getattr(run, name) for name in fields})


def run_finish(run: SyncRun, status: str, *, error: str = "", stop_cause: str = "") -> SyncRun:
    """End the run with `status` (and why), writing its counters and plan."""
    run.status = status
    run.error = error
    run.stop_cause = stop_cause
    run.finished_at = timezone.now()
    run_save(
        run,
        "status",
        "error",
        "stop_cause",
        "finished_at",
        "total",
        *SyncRun.COUNTERS,
        "vk_requests",
        "vk_rate_refusals",
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
            "vk_rate_refusals": run.vk_rate_refusals,
        },
    )
    return run


def run_interrupt_stale(user, *, keep: SyncRun) -> None:
    """Runs left planning or running by a worker that died: we hold the lock, so they are dead."""
    run_interrupt_others(SyncRun.objects.filter(user=user), keep=keep)


# --- alerts and connections -------------------------------------------------------------------
def run_alert(user, cause: str, message: str) -> None:
    """Raise an alert for the merchant; a failure to do so never fails the run (its row still
    says why)."""
    try:
        alert_raise(user=user, cause=cause, message=message)
    except Exception:
        logger.exception("raising an alert failed", extra={"user_id": user.pk, "cause": cause})


def run_resolve_alerts(user, *causes: str) -> None:
    for cause in causes:
        alert_resolve(user=user, cause=cause)


def mark_vk_broken(connection: VkConnection, message: str) -> None:
    from connections.vk_services import vk_connection_mark_broken

    vk_connection_mark_broken(connection, message)


def mark_evotor_broken(user, message: str) -> None:
    from connections.evotor_services import evotor_connection_mark_broken

    connection = EvotorConnection.objects.filter(user=user).first()
    if connection is not None:
        evotor_connection_mark_broken(connection, message)


# --- may a run start? -------------------------------------------------------------------------
def users_to_sync() -> list[int]:
    """Merchants the schedule publishes for: active, VK usable, first publish done, automatic
    publishing on (the token is encrypted, so it is checked in Python)."""
    user_ids = set(
        SyncSettings.objects.filter(
            auto_sync=True, first_published_at__isnull=False, user__is_active=True
        ).values_list("user_id", flat=True)
    )
    connections = VkConnection.objects.filter(
        user_id__in=user_ids, state=ConnectionState.OK, group_id__isnull=False
    )
    return sorted(c.user_id for c in connections if c.access_token)


def sync_run_live_or_close_dead(user) -> SyncRun | None:
    """The merchant's queued or running run if one is really alive; dead ones are closed on
    the way (a write: see `evosync.runs.run_close_if_dead`). A run shown running whose lock
    nobody holds belongs to a worker that died; a queued run whose task was lost is sent again
    within a minute, or failed when the queue does not take it, so a lost task never blocks
    "Sync now"."""
    with merchant_language():
        return run_live(SyncRun.objects.filter(user=user))


class StartRefused(Exception):
    """A run may not start now; `message` says why in the merchant's words."""

    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class StartCheck:
    """What `sync_run_start_check` found: a live run that makes a new one unnecessary, or why
    a run may not start (`refusal` is None when it may)."""

    live: SyncRun | None = None
    refusal: StartRefused | None = None


def sync_run_start_check(user, *, trigger: str) -> StartCheck:
    """Whether a run with `trigger` may start for the merchant now (the one place that decides).

    - an inactive merchant gets none;
    - an automatic run (schedule, change in Evotor) needs automatic publishing on and the
      first publish done through the preview;
    - a run already queued or in progress, really alive, is the answer instead of a second one
      (dead ones are closed here); a lock held by a run nobody recorded refuses;
    - a run by hand (or a retry) needs a working VK connection (it would only fail);
    - no run without a VK category: VK refuses every item without one (issue 12: a run
      skipped 397 of 427 items and still read «Готово»).
    """
    if not user.is_active:
        return StartCheck(refusal=StartRefused(_("This account is not active."), code="inactive"))
    if trigger in AUTOMATIC_TRIGGERS:
        wanted = SyncSettings.objects.filter(
            user=user, auto_sync=True, first_published_at__isnull=False
        ).exists()
        if not wanted:
            return StartCheck(
                refusal=StartRefused(_("Automatic publishing is off."), code="automatic_off")
            )
    live = sync_run_live_or_close_dead(user)
    if live is not None:
        return StartCheck(live=live)
    if sync_lock_held(user.pk):
        return StartCheck(refusal=StartRefused(_("A run is already in progress."), code="locked"))
    if trigger not in AUTOMATIC_TRIGGERS:
        refusal = _vk_refusal(user)
        if refusal is not None:
            return StartCheck(refusal=refusal)
    refusal = category_refusal(user)
    if refusal is not None:
        return StartCheck(refusal=refusal)
    return StartCheck()


def category_refusal(user) -> StartRefused | None:
    """Why nothing may be published for want of a VK category (None when one is chosen)."""
    chosen = SyncSettings.objects.filter(user=user, vk_category_id__isnull=False).exists()
    if chosen:
        return None
    return StartRefused(
        _("Choose a VK category in the settings first: VK does not accept items without one."),
        code="no_category",
    )


def _vk_refusal(user) -> StartRefused | None:
    vk = VkConnection.objects.filter(user=user).first()
    if vk is None or not (vk.access_token and vk.group_id):
        return StartRefused(
            _("Connect your VK community first: nothing can be published without it."),
            code="vk_not_connected",
        )
    if vk.state != ConnectionState.OK:
        return StartRefused(
            _("The VK connection does not work: %(error)s Fix it, then publish again.")
            % {"error": vk.last_error or _("VK refused the token.")},
            code="vk_broken",
        )
    return None


def sync_run_start(*, user, trigger: str = RunTrigger.MANUAL, confirm_removals: int = 0) -> SyncRun:
    """`sync_run_request` for callers that only need the run."""
    run, _started = sync_run_request(user=user, trigger=trigger, confirm_removals=confirm_removals)
    return run


@transaction.atomic
def sync_run_request(
    *, user, trigger: str = RunTrigger.MANUAL, confirm_removals: int = 0
) -> tuple[SyncRun, bool]:
    """Queue a run for the merchant (its task is sent after commit); returns (run, started).
    A run already queued or in progress is returned (started False) instead of a second one; a
    run that may not start raises `StartRefused` (see `sync_run_start_check`).

    `confirm_removals`: the number of hides and deletes the merchant confirmed on the preview
    (the count it showed). The removal guard lets the run through if its plan removes no more;
    one that now removes more is held and asks again.

    If the queue does not take the task, the returned run is already failed and says so
    (read it again after the transaction).
    """
    if isinstance(confirm_removals, bool):
        raise TypeError("confirm_removals is the number of removals confirmed, not a flag.")
    check = sync_run_start_check(user, trigger=trigger)
    if check.refusal is not None:
        raise check.refusal
    if check.live is not None:
        return check.live, False
    run = sync_run_create(user=user, trigger=trigger, confirmed_removals=confirm_removals)
    run_enqueue(run)
    return run, True


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
    # Queued again now: the row itself is older (the stale check counts from here).
    run.task_sent_at = timezone.now()
    run.save(
        update_fields=[
            "status",
            "confirmed_removals",
            "error",
            "stop_cause",
            "finished_at",
            "task_sent_at",
        ]
    )
    run_resolve_alerts(run.user, AlertCause.REMOVAL_GUARD)
    run_enqueue(run)
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
        run_resolve_alerts(run.user, AlertCause.REMOVAL_GUARD)
    return run


def sync_run_retry_failed(*, run: SyncRun) -> SyncRun:
    """ "Retry failed": a new run (trigger retry). Failed items are always retried by any run;
    this one just comes now instead of at the next schedule. Raises `StartRefused` like
    `sync_run_start`."""
    return sync_run_start(user=run.user, trigger=RunTrigger.RETRY)
