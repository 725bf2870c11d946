"""The task queue's two lanes, which task goes in which, and the pending-task slots.

Lanes are django-q2 clusters (django-q2 docs/configure.rst, "ALT_CLUSTERS"): the fast lane is
the default cluster (`Q_CLUSTER["name"]`), the slow lane the alternative cluster a worker joins
with `Q_CLUSTER_NAME=evosync-slow python manage.py qcluster`. Each cluster has a queue of its
own in the broker (a Redis list `django_q:<cluster>:q`, or the ORM broker's rows keyed by the
cluster name), and `async_task(..., cluster=<name>)` puts a task into that queue whatever
process sends it. `evosync.runs.enqueue_task` is the one place tasks are sent from; it asks
`task_lane` here.

A pending slot (`PendingTask`) stands for a per-merchant task that waits and has not started:
at most one per kind and merchant, held by a unique constraint, so concurrent senders cannot
both queue one (README "Task queues").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evosync.models import PendingTask

logger = logging.getLogger(__name__)

FAST = "fast"
SLOW = "slow"
LANES = (FAST, SLOW)
LANE_LABELS = {
    FAST: _("Fast lane: changes from Evotor"),
    SLOW: _("Slow lane: first and full publishes, full catalog reads"),
}

# Which lane each task function takes: `<dotted task>` or, where the same function does fast
# and slow work, `<dotted task>:<variant>` (for a publishing run, its trigger). Every public
# function of an app's tasks.py must be here (a test says so): a task nobody placed would
# otherwise land in the slow lane and wait behind first publishes.
TASK_LANES = {
    # Changes: one event, one product, one merchant's `since` read.
    "webhooks.tasks.process_evotor_change": FAST,
    "webhooks.tasks.poll_evotor_events": FAST,
    "catalog.tasks.read_changes_for_user": FAST,
    "catalog.tasks.read_changes_all": FAST,
    "sync.tasks.sync_user:evotor_change": FAST,
    # Targeted publishes of the changed products, debounced (sync/debounce.py), and their sweep.
    "sync.tasks.publish_changes": FAST,
    "sync.tasks.publish_changes_dispatch": FAST,
    "sync.tasks.publish_changes_sweep": FAST,
    # Whole catalogs: reconciliation reads, first and full publishes, their fan-outs.
    "catalog.tasks.refresh_catalog_for_user": SLOW,
    "catalog.tasks.refresh_catalog_all": SLOW,
    "vk_catalog.tasks.refresh_vk_catalog_for_user": SLOW,
    "vk_catalog.tasks.refresh_vk_catalog_all": SLOW,
    "sync.tasks.sync_user": SLOW,
    # The next chunk of a long whole run (sync/publish/chunked.py), whatever started it.
    "sync.tasks.sync_user:chunk": SLOW,
    "sync.tasks.sync_all": SLOW,
    # The preview of a large catalog (sync/preview_jobs.py): a whole plan, up to half a minute
    # at 100k products; the merchant waits on the page, but a change at the till must not.
    "sync.tasks.compute_preview": SLOW,
}


def task_lane(func: str, variant: str = "") -> str:
    """The lane of the dotted task `func` (the variant's own entry first, when there is one).
    A task missing from `TASK_LANES` takes the slow lane: it may be long, and the fast lane
    must stay fast."""
    if variant and f"{func}:{variant}" in TASK_LANES:
        return TASK_LANES[f"{func}:{variant}"]
    lane = TASK_LANES.get(func)
    if lane is None:
        logger.warning("a task with no lane: sent to the slow lane", extra={"task": func})
        return SLOW
    return lane


def lane_cluster(lane: str) -> str:
    """The django-q2 cluster (and broker queue) name of `lane`."""
    return settings.Q_FAST_CLUSTER if lane == FAST else settings.Q_SLOW_CLUSTER


def task_lifetime() -> timedelta:
    """How long a task may be out of sight at most: django-q2 re-delivers one its worker has not
    acknowledged after `Q_CLUSTER["retry"]` seconds (set above the task timeout)."""
    return timedelta(seconds=int(settings.Q_CLUSTER.get("retry", 2400)))


# A task sent less than this long ago is not looked for in the broker: a worker takes a task
# within seconds when the queue works.
QUEUED_GRACE = timedelta(seconds=60)


# --- the broker ------------------------------------------------------------------------------
def lane_queue_size(lane: str, *, taken: bool = False) -> int | None:
    """Tasks waiting in the lane's broker queue; None when the broker does not answer.

    `taken`: count also the tasks a worker has taken but not finished, where the broker can
    tell (the ORM broker keeps them, locked, until acknowledged; Redis hands them over).
    """
    from django_q.brokers import get_broker

    try:
        broker = get_broker(lane_cluster(lane))
        size = broker.queue_size() or 0
        if taken and hasattr(broker, "lock_size"):
            size += broker.lock_size() or 0
        return size
    except Exception:
        logger.warning("the task broker did not answer", exc_info=True, extra={"lane": lane})
        return None


# --- pending slots ---------------------------------------------------------------------------
def _insert(*, kind: str, user_id: int, lane: str, task_name: str, now: datetime) -> bool:
    try:
        # A savepoint: a refused insert must not spoil the caller's transaction.
        with transaction.atomic():
            PendingTask.objects.create(
                kind=kind, user_id=user_id, lane=lane, task_name=task_name, queued_at=now
            )
        return True
    except IntegrityError:
        return False


def pending_lost(slot: PendingTask, *, now: datetime | None = None) -> bool:
    """Whether the task behind `slot` can no longer start: older than any task lives, or past
    the grace while its lane's broker holds nothing (Redis restarted empty)."""
    now = now or timezone.now()
    if slot.queued_at < now - task_lifetime():
        return True
    if slot.queued_at >= now - QUEUED_GRACE:
        return False
    return lane_queue_size(slot.lane, taken=True) == 0


def pending_claim(*, kind: str, user_id: int, lane: str, task_name: str) -> bool:
    """Take the (kind, merchant) slot for the task `task_name`; False when another task of the
    kind already waits for the merchant (then the caller sends nothing).

    The unique constraint decides between concurrent callers, never a read before the write.
    The slot of a task that can no longer start (`pending_lost`: a run whose task the broker
    lost, sent again) is taken over, by one caller only.
    """
    now = timezone.now()
    fields = {"kind": kind, "user_id": user_id, "lane": lane, "task_name": task_name, "now": now}
    if _insert(**fields):
        return True
    slot = PendingTask.objects.filter(kind=kind, user_id=user_id).first()
    if slot is None:  # it started meanwhile
        return _insert(**fields)
    if not pending_lost(slot, now=now):
        return False
    taken = PendingTask.objects.filter(
        pk=slot.pk, task_name=slot.task_name, queued_at=slot.queued_at
    ).update(task_name=task_name, lane=lane, queued_at=now)
    return bool(taken)


def pending_release(*, task_name: str) -> int:
    """Free the slot of the task `task_name` (it started, or the broker refused it)."""
    deleted, _by_model = PendingTask.objects.filter(task_name=task_name).delete()
    return deleted


def release_on_start(sender, task=None, **kwargs) -> None:
    """django-q2's `pre_execute` receiver (in the worker, just before the task runs): the task
    is no longer pending. Never stops the task: a slot left behind is taken over later."""
    name = (task or {}).get("name")
    if not name:
        return
    try:
        pending_release(task_name=name)
    except Exception:
        logger.exception("freeing a pending-task slot failed", extra={"task_name": name})


# --- what staff see --------------------------------------------------------------------------
@dataclass(frozen=True)
class LaneDepth:
    """One lane's queue as the admin shows it."""

    lane: str
    label: str
    cluster: str
    workers: int
    queued: int | None  # tasks in the broker's queue (None: the broker did not answer)
    pending: int  # per-merchant tasks waiting (slots)
    oldest_pending_at: datetime | None
    pending_by_kind: list[tuple[str, int]] = field(default_factory=list)


def lane_depths() -> list[LaneDepth]:
    """Each lane's depth: what waits in the broker and which merchant tasks are pending."""
    by_lane = {
        row["lane"]: row
        for row in PendingTask.objects.values("lane").annotate(
            pending=Count("pk"), oldest=Min("queued_at")
        )
    }
    kinds: dict[str, list[tuple[str, int]]] = {lane: [] for lane in LANES}
    for row in (
        PendingTask.objects.values("lane", "kind").annotate(n=Count("pk")).order_by("lane", "kind")
    ):
        kinds.setdefault(row["lane"], []).append((row["kind"], row["n"]))
    workers = {FAST: settings.Q_WORKERS, SLOW: settings.Q_SLOW_WORKERS}
    return [
        LaneDepth(
            lane=lane,
            label=str(LANE_LABELS[lane]),
            cluster=lane_cluster(lane),
            workers=workers[lane],
            queued=lane_queue_size(lane),
            pending=(by_lane.get(lane) or {}).get("pending", 0),
            oldest_pending_at=(by_lane.get(lane) or {}).get("oldest"),
            pending_by_kind=kinds.get(lane, []),
        )
        for lane in LANES
    ]
