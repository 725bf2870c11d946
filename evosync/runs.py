"""The lifecycle every background run shares: publishing runs (`sync.SyncRun`) and the two
catalog refreshes (`catalog.CatalogRefresh`, `vk_catalog.VkCatalogRefresh`).

A run is a row the merchant and the admin see: queued → running → finished (each model names
its own end states). Two ways a row can look alive while nothing works on it are handled here,
once for the three models:

- a queued row whose task never reached a worker. Handing the task to the broker fails (Redis
  down): the row fails at once with a clear message (`run_enqueue`). The broker lost it (Redis
  restarted empty): a row still queued a minute after its task was sent, while the broker's
  queue is empty, has its task sent again — tasks take the row's id and leave a row that is no
  longer queued alone, so a task that was only late does nothing twice — and a row queued
  past django-q2's re-delivery delay is given up (`run_close_if_dead`);
- a running row whose worker died: its lock is free (when the model can tell, `holder_alive`),
  or it started longer ago than any task may live.

Every task EvoSync queues goes through `enqueue_task`, so tasks are named one way
(`<dotted task>:<user id>[:<run id>]`, grouped by the dotted task), go to the lane their kind
belongs in, and wait at most once per kind and merchant (`evosync.queues`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from evosync.queues import (
    QUEUED_GRACE,
    lane_cluster,
    lane_queue_size,
    pending_claim,
    pending_release,
    task_lane,
    task_lifetime,
)

logger = logging.getLogger(__name__)

QUEUED = "queued"
RUNNING = "running"
FAILED = "failed"


def stale_after() -> timedelta:
    """How long a row may look alive at most. django-q2 re-delivers a task its worker has not
    acknowledged after `Q_CLUSTER["retry"]` seconds (set above the task timeout in settings),
    so past that no worker will ever pick the row up or still be working on it."""
    return task_lifetime()


class LifecycleRun(models.Model):
    """Fields and behaviour the run models share; each declares `user` and `status` (with its
    own end states) and the class attributes below."""

    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True, default="")
    # When the row's task was last handed to the broker (None: not yet, or before this field).
    task_sent_at = models.DateTimeField(_("task sent at"), null=True, blank=True, editable=False)

    QUEUED_STATUS = QUEUED
    FAILED_STATUS = FAILED
    ACTIVE_STATUSES: tuple[str, ...] = (QUEUED, RUNNING)
    # The field that says when the row was queued.
    QUEUED_AT = "requested_at"
    # The dotted task that executes a queued row: called as TASK(*row.task_args()).
    TASK = ""
    # What the merchant reads on a row closed here (stored in the site's language).
    INTERRUPTED_MESSAGE = _("It was interrupted before it finished (the worker stopped).")
    NEVER_STARTED_MESSAGE = _("It was queued but never started; start it again.")
    QUEUE_DOWN_MESSAGE = _(
        "The task queue is not answering, so this could not start. Nothing was changed; "
        "try again in a few minutes."
    )

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def queued_at(self):
        return getattr(self, self.QUEUED_AT)

    def task_args(self) -> tuple:
        return (self.user_id, self.pk)

    def task_variant(self) -> str:
        """What picks the lane among the entries of `TASK` (evosync.queues.TASK_LANES): a
        publishing run's trigger; nothing for the others."""
        return str(getattr(self, "trigger", "") or "")

    def holder_alive(self) -> bool | None:
        """Whether a worker holds this row's lock now; None when the model cannot tell (then
        only the row's age says it is dead)."""
        return None


# --- tasks ------------------------------------------------------------------------------------
def task_name(func: str, *, user_id: int, key: object = None) -> str:
    """`<dotted task>:<user id>[:<key>]`: what the queue admin shows for a task."""
    return f"{func}:{user_id}" if key is None else f"{func}:{user_id}:{key}"


@dataclass(frozen=True)
class Enqueued:
    """What `enqueue_task` did: sent the task (`task_id`), or not, because a task of the same
    kind already waits for the merchant (`already_pending`)."""

    lane: str
    task_id: str | None = None
    already_pending: bool = False

    @property
    def sent(self) -> bool:
        return self.task_id is not None


def enqueue_task(func: str, *args, user_id: int, key: object = None, variant: str = "") -> Enqueued:
    """Hand one task to django-q2 now, in its lane (callers inside a transaction wrap it in
    `on_commit`).

    A merchant's task (`user_id` > 0) is sent only if no task of the same `func` waits for the
    merchant already (queued and not started): otherwise nothing is sent and the answer says
    so. `user_id` 0 is work of no merchant (one Evotor event), never held back. `variant`
    picks the lane among `func`'s entries (evosync.queues.TASK_LANES).

    Raises whatever the broker raises when it cannot take the task (Redis down:
    `redis.exceptions.ConnectionError`), after freeing the slot.
    """
    from django_q.tasks import async_task

    lane = task_lane(func, variant)
    name = task_name(func, user_id=user_id, key=key)
    held = user_id > 0
    if held and not pending_claim(kind=func, user_id=user_id, lane=lane, task_name=name):
        logger.info(
            "a task of this kind already waits for the merchant: not queued again",
            extra={"user_id": user_id, "task": func, "lane": lane},
        )
        return Enqueued(lane=lane, already_pending=True)
    try:
        task_id = async_task(func, *args, task_name=name, group=func, cluster=lane_cluster(lane))
    except Exception:
        if held:
            pending_release(task_name=name)
        raise
    return Enqueued(lane=lane, task_id=task_id)


def run_enqueue(run: LifecycleRun) -> None:
    """Send the queued row's task once the current transaction commits (immediately outside
    one). If the broker refuses it, the row fails at once with `QUEUE_DOWN_MESSAGE` instead of
    waiting as queued with no task behind it; the caller reads the row again to tell."""
    transaction.on_commit(lambda: _send(run))


def _send(run: LifecycleRun) -> bool:
    model = type(run)
    try:
        # Already pending: a task of the same kind waits for the merchant and answers this row
        # too (a refresh takes the newest queued row; a run whose row is left queued is sent
        # again by `run_close_if_dead` once that task has started).
        enqueue_task(
            model.TASK,
            *run.task_args(),
            user_id=run.user_id,
            key=run.pk,
            variant=run.task_variant(),
        )
    except Exception:
        logger.exception(
            "queueing a task failed",
            extra={"user_id": run.user_id, "run_id": run.pk, "task": model.TASK},
        )
        run_fail(run, model.QUEUE_DOWN_MESSAGE, statuses=(model.QUEUED_STATUS,))
        return False
    model.objects.filter(pk=run.pk).update(task_sent_at=timezone.now())
    return True


def broker_queue_empty(lane: str) -> bool | None:
    """Whether the lane's broker queue holds no task waiting for a worker; None when it does
    not answer."""
    size = lane_queue_size(lane)
    return None if size is None else size == 0


# --- rows -------------------------------------------------------------------------------------
def run_fail(run: LifecycleRun, message, *, statuses: tuple[str, ...] | None = None) -> bool:
    """End `run` as failed with `message` (in the site's language), unless its status moved
    on meanwhile (a worker took it). Returns whether it did."""
    model = type(run)
    with translation.override(settings.LANGUAGE_CODE):
        error = str(message)
    now = timezone.now()
    done = model.objects.filter(pk=run.pk, status__in=statuses or (run.status,)).update(
        status=model.FAILED_STATUS, finished_at=now, error=error
    )
    if done:
        run.status, run.finished_at, run.error = model.FAILED_STATUS, now, error
    return bool(done)


def run_close_if_dead(run: LifecycleRun) -> bool:
    """Close `run` (queued or running) when nothing works on it (see the module docstring).
    Returns whether it is closed now; a row whose task was sent again stays queued."""
    model = type(run)
    now = timezone.now()
    if run.status == model.QUEUED_STATUS:
        # A held run confirmed later is queued again long after the row was made.
        sent = run.task_sent_at or run.queued_at
        if sent < now - stale_after():
            return run_fail(run, model.NEVER_STARTED_MESSAGE)
        lane = task_lane(model.TASK, run.task_variant())
        if sent >= now - QUEUED_GRACE or broker_queue_empty(lane) is False:
            return False
        logger.warning(
            "a queued run had no task behind it: sending it again",
            extra={"user_id": run.user_id, "run_id": run.pk, "task": model.TASK},
        )
        claimed = model.objects.filter(
            pk=run.pk, status=model.QUEUED_STATUS, task_sent_at=run.task_sent_at
        ).update(task_sent_at=now)
        if claimed:  # else another request is sending it right now
            run.task_sent_at = now
            run_enqueue(run)
        run.refresh_from_db(fields=["status", "finished_at", "error"])
        return run.status != model.QUEUED_STATUS
    alive = run.holder_alive()
    if alive is None:
        alive = (run.started_at or run.queued_at) >= now - stale_after()
    return False if alive else run_fail(run, model.INTERRUPTED_MESSAGE)


def run_looks_stale(run: LifecycleRun) -> bool:
    """Whether a queued or running row is past the time anything could still work on it (a
    read, for pages; `run_close_if_dead` closes rows and also finds the younger dead ones)."""
    if not run.is_active:
        return False
    since = run.task_sent_at or run.started_at or run.queued_at
    return since < timezone.now() - stale_after()


def run_live(queryset: models.QuerySet) -> LifecycleRun | None:
    """The newest row of `queryset` that is queued or running and really alive; the dead ones
    met on the way are closed (a write: call it where a run may start, not on pages that only
    read)."""
    model = queryset.model
    active = queryset.filter(status__in=model.ACTIVE_STATUSES).order_by(
        f"-{model.QUEUED_AT}", "-pk"
    )
    for run in active:
        if not run_close_if_dead(run):
            return run
    return None


def run_interrupt_others(
    queryset: models.QuerySet, *, keep: LifecycleRun | None = None, message=None
) -> int:
    """Fail the rows of `queryset` still marked running (any active status but queued). Call it
    holding the lock their worker would hold: they belong to a worker that died. Returns how
    many."""
    model = queryset.model
    running = [status for status in model.ACTIVE_STATUSES if status != model.QUEUED_STATUS]
    rows = queryset.filter(status__in=running)
    if keep is not None:
        rows = rows.exclude(pk=keep.pk)
    with translation.override(settings.LANGUAGE_CODE):
        error = str(message or model.INTERRUPTED_MESSAGE)
    return rows.update(status=model.FAILED_STATUS, finished_at=timezone.now(), error=error)
