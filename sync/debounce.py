"""When a merchant's changes from Evotor are published: the debounce of targeted publishes
(issue 10 item 2).

Every change marks its product (`catalog.DirtyProduct`, durable) and notes the merchant's
`PublishDue` row: the quiet period restarts (`SYNC_CHANGES_QUIET_SECONDS`) and the first change
not yet published starts the cap (`SYNC_CHANGES_CAP_SECONDS`). The changes are due at the end of
the quiet period, or at the cap under a stream of changes, whichever comes first.

How the wait is done, and why this way: django-q2 has no delayed task, and its scheduler looks
at `next_run` only every 30 seconds (`django_q/cluster.py`, the guard loop), so a schedule could
not honour a quiet period of a few seconds. One task, the dispatcher (`changes_dispatch`, task
`DISPATCH_TASK`), waits for every merchant: it sleeps until the next row is due and then sends
that merchant's publish task (`PUBLISH_TASK`, through `evosync.runs.enqueue_task`), which runs
at once. An earlier version sent each merchant's publish task at its first change and let it
sleep out the quiet period: at 100 changes a minute in different merchants that held about five
fast-lane workers asleep at any time, more than the lane had (bench/freshness.py,
docs/benchmarks.md "Freshness"). The dispatcher holds one worker while changes wait, none
otherwise.

At most one dispatcher runs, by a lease in the cache (`cache.add`, atomic in Django's
backends), renewed at each turn of its loop and let go when nothing waits; a change noted while
it lets go is not lost (it looks once more after letting go and takes the lease back if
something waits). A dispatcher lost with its worker leaves the lease to expire (`LEASE`). Two
dispatchers at once would only cost a worker: a publish is sent by a conditional update of its
row (`task_sent_at`), so never twice.

Correct with several workers: at most one publish task per merchant is on its way
(`task_sent_at`); the task claims the due changes with a compare-and-set on the row (a change
arriving in between makes the claim fail and the task waits again); the publish itself runs
under the merchant's lock; the marks are cleared by compare-and-delete
(sync/publish/targeted.py). A change arriving once the claim is made is dispatched anew and
published after the current run. A task lost with its worker or broker leaves the marks and
the row behind: `changes_sweep` (every minute) sends the publish again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import DateTimeField, F, Min, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from evosync.runs import enqueue_task
from sync.models import PublishDue, RunTrigger, SyncSettings

logger = logging.getLogger(__name__)

PUBLISH_TASK = "sync.tasks.publish_changes"
DISPATCH_TASK = "sync.tasks.publish_changes_dispatch"
DISPATCHER_LEASE_KEY = "sync.debounce.dispatcher"
# How long a dispatcher's lease outlives its last turn (it sleeps at most the cap between two).
LEASE = timedelta(seconds=90)
# A dispatcher hands over to a new task after this long, well under Q_TIMEOUT.
TURN = timedelta(minutes=10)
# A task sent this long ago and not yet claiming its changes is taken for lost (its worker died,
# the broker restarted empty) and sent again. It lives at most the cap plus one publish once a
# worker takes it; a copy sent for one only stuck in a long queue finds nothing due.
TASK_LOST_AFTER = timedelta(minutes=5)


def quiet_period() -> timedelta:
    return timedelta(seconds=float(settings.SYNC_CHANGES_QUIET_SECONDS))


def cap_period() -> timedelta:
    return timedelta(seconds=float(settings.SYNC_CHANGES_CAP_SECONDS))


def due_at(row: PublishDue) -> datetime:
    """When the row's changes are due: the quiet period's end, at the latest the cap."""
    if row.first_change_at is None:
        return row.quiet_until
    return min(row.quiet_until, row.first_change_at + cap_period())


def automatic_wanted(user) -> bool:
    """Whether changes are published automatically for the merchant (the condition an
    automatic run starts on, `sync.lifecycle.sync_run_start_check`)."""
    return SyncSettings.objects.filter(
        user=user, auto_sync=True, first_published_at__isnull=False
    ).exists()


def changes_note(*, user, whole: bool = False, now: datetime | None = None) -> None:
    """A change of the merchant's catalog arrived (its product already marked): restart the
    quiet period and make sure the dispatcher is on its way (after the current transaction
    commits). `whole`: plan the whole catalog (a group changed: albums may be renamed or
    products moved)."""
    now = now or timezone.now()
    quiet_until = now + quiet_period()
    row, created = PublishDue.objects.get_or_create(
        user=user,
        defaults={"quiet_until": quiet_until, "first_change_at": now, "whole": whole},
    )
    if not created:
        changes = {
            "quiet_until": quiet_until,
            "first_change_at": Coalesce(
                F("first_change_at"), Value(now, output_field=DateTimeField())
            ),
        }
        if whole:
            changes["whole"] = True
        PublishDue.objects.filter(pk=row.pk).update(**changes)
    transaction.on_commit(dispatcher_wake)


def _claim_sending(row_pk: int, *, now: datetime) -> bool:
    """Mark the row's task as sent, unless one is on its way already; send it after commit."""
    lost = now - TASK_LOST_AFTER
    claimed = (
        PublishDue.objects.filter(pk=row_pk)
        .filter(Q(task_sent_at__isnull=True) | Q(task_sent_at__lt=lost))
        .update(task_sent_at=now)
    )
    if claimed:
        user_id = PublishDue.objects.filter(pk=row_pk).values_list("user_id", flat=True).get()
        transaction.on_commit(lambda: _send(user_id))
    return bool(claimed)


def _send(user_id: int) -> None:
    try:
        enqueue_task(PUBLISH_TASK, user_id, user_id=user_id)
    except Exception:
        # The broker did not take it: the marks stay, and the sweep sends the task again.
        logger.exception("queueing a targeted publish failed", extra={"user_id": user_id})
        PublishDue.objects.filter(user_id=user_id).update(task_sent_at=None)


# --- the dispatcher --------------------------------------------------------------------------
def dispatcher_wake() -> bool:
    """Send the dispatcher, unless one holds the lease. Returns whether one was sent."""
    token = uuid.uuid4().hex
    if not cache.add(DISPATCHER_LEASE_KEY, token, timeout=LEASE.total_seconds()):
        return False
    try:
        enqueue_task(DISPATCH_TASK, token, user_id=0)
    except Exception:
        # The broker did not take it: the next change tries again, the sweep sends the marks.
        logger.exception("queueing the dispatcher of targeted publishes failed")
        _let_go(token)
        return False
    return True


def _let_go(token: str) -> None:
    if cache.get(DISPATCHER_LEASE_KEY) == token:
        cache.delete(DISPATCHER_LEASE_KEY)


def _undispatched(now: datetime):
    """Rows with changes waiting and no publish task on its way."""
    return PublishDue.objects.filter(first_change_at__isnull=False).filter(
        Q(task_sent_at__isnull=True) | Q(task_sent_at__lt=now - TASK_LOST_AFTER)
    )


def changes_dispatch(
    *,
    token: str,
    clock: Callable[[], datetime] = timezone.now,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """The dispatcher task: until no change waits, send each merchant's publish task when its
    changes are due, sleeping in between. Returns how many publish tasks it sent."""
    started, sent = clock(), 0
    try:
        while cache.get(DISPATCHER_LEASE_KEY) == token:
            now = clock()
            next_due = None
            for row in _undispatched(now):
                due = due_at(row)
                if due <= now:
                    sent += int(_claim_sending(row.pk, now=now))
                elif next_due is None or due < next_due:
                    next_due = due
            if next_due is None:
                _let_go(token)
                # A change noted just before the lease went found it held and sent nothing.
                if not _undispatched(clock()).exists():
                    return sent
                if not cache.add(DISPATCHER_LEASE_KEY, token, timeout=LEASE.total_seconds()):
                    return sent  # a new dispatcher has it
                continue
            if now - started >= TURN:
                _let_go(token)
                dispatcher_wake()
                return sent
            cache.set(DISPATCHER_LEASE_KEY, token, timeout=LEASE.total_seconds())
            sleep(min((next_due - now).total_seconds(), cap_period().total_seconds()))
        return sent
    finally:
        _let_go(token)


# --- the publish -----------------------------------------------------------------------------
def changes_publish_when_due(
    *,
    user,
    clock: Callable[[], datetime] = timezone.now,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """The task: wait until the merchant's changes are due, claim them, publish them. Returns
    what happened: "nothing" (no changes waiting: another task published them), "whole" (a
    whole run was queued), "published", "not_now" (no automatic run may start now; the
    marks wait for the next publish)."""
    from sync.lifecycle import StartRefused, sync_run_request
    from sync.publish.targeted import sync_changes_publish

    while True:
        row = PublishDue.objects.filter(user=user).first()
        if row is None or row.first_change_at is None:
            PublishDue.objects.filter(user=user, first_change_at__isnull=True).update(
                task_sent_at=None
            )
            return "nothing"
        wait = (due_at(row) - clock()).total_seconds()
        if wait > 0:
            sleep(min(wait, cap_period().total_seconds()))
            continue
        claimed = PublishDue.objects.filter(
            pk=row.pk, quiet_until=row.quiet_until, first_change_at=row.first_change_at
        ).update(first_change_at=None, whole=False, task_sent_at=None)
        if claimed:
            break
        # A change arrived between the read and the claim: its quiet period starts over.
    if row.whole:
        try:
            sync_run_request(user=user, trigger=RunTrigger.EVOTOR_CHANGE)
        except StartRefused:
            return "not_now"
        return "whole"
    run = sync_changes_publish(user=user)
    return "not_now" if run is None else "published"


def changes_sweep(*, now: datetime | None = None) -> int:
    """Send the task again for merchants whose changes wait with no task on its way (a worker
    or a broker lost it, or a run was in progress when it came): marks older than twice the
    cap. Only merchants the schedule publishes for (`users_to_sync`). Returns how many."""
    from catalog.models import DirtyProduct
    from sync.lifecycle import users_to_sync

    now = now or timezone.now()
    waiting = (
        DirtyProduct.objects.filter(user_id__in=users_to_sync())
        .values("user_id")
        .annotate(oldest=Min("changed_at"))
        .filter(oldest__lt=now - 2 * cap_period())
        .values_list("user_id", flat=True)
    )
    sent = 0
    for user_id in waiting:
        with transaction.atomic():
            row, _created = PublishDue.objects.get_or_create(
                user_id=user_id, defaults={"quiet_until": now, "first_change_at": now}
            )
            PublishDue.objects.filter(pk=row.pk, first_change_at__isnull=True).update(
                first_change_at=now
            )
            sent += int(_claim_sending(row.pk, now=now))
    return sent
