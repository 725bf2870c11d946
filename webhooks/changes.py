"""Change events from Evotor: recorded raw at intake, processed by a task (issue 10 item 1).

Three intake paths feed the same record (`EvotorChange`) and the same processing:
- push: Evotor posts each event, signed (`webhooks.views.evotor_push`, docs/contracts/evotor-api.md §7.5);
- pull: one poller reads the application's events API (`evotor_events_poll`, §7.5a);
- legacy: v1 product notifications, products created on a terminal (§7.5 item 1).
Processing routes the event to the merchant (by Evotor user id, else by store id) and applies
it to the cached catalog through `catalog.changes`, which marks the product dirty and tells
publishing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from catalog import changes as catalog_changes
from connections.evotor_client import (
    EvotorClient,
    EvotorError,
    parse_group,
    parse_product,
    parse_timestamp,
)
from connections.evotor_selectors import evotor_connection_by_evotor_user_id
from evosync.locks import cache_lock
from evosync.runs import enqueue_task
from webhooks import payloads
from webhooks.errors import WebhookError
from webhooks.models import ChangeOutcome, ChangeSource, EventsCursor, EvotorChange

logger = logging.getLogger(__name__)

PROCESS_TASK = "webhooks.tasks.process_evotor_change"
# The events-API poller starts this far back when it has never run; anything older is the
# full refresh's to find.
FIRST_POLL_LOOKBACK_MS = 10 * 60 * 1000
POLL_LOCK = "lock:evotor-events-poll"
# The poller run that reads now: a newer run takes over and the older one stops.
POLLER_RUN_KEY = "evotor-events-poller-run"


def intake_enabled(path: str) -> bool:
    return path in settings.EVOTOR_INTAKE


def _legacy_event_id(event: payloads.ChangeEvent) -> str:
    """Legacy notifications carry no id: a retry of the same body gets the same one."""
    text = json.dumps(event.payload, sort_keys=True, ensure_ascii=False, default=str)
    return "v1:" + hashlib.sha256(f"{event.store_id}/{text}".encode()).hexdigest()[:61]


def evotor_change_record(
    *, source: str, event: payloads.ChangeEvent, delivery_id: str | None = None
) -> EvotorChange | None:
    """Store one event and queue its processing after commit; None when it was already
    recorded (the same delivery, or the same event from another channel)."""
    event_id = event.event_id
    if source == ChangeSource.LEGACY and not event_id:
        event_id = _legacy_event_id(event)
    try:
        with transaction.atomic():
            change = EvotorChange.objects.create(
                source=source,
                delivery_id=delivery_id or None,
                event_id=event_id or None,
                event_type=event.type,
                action=event.action,
                evotor_user_id=event.evotor_user_id,
                store_evotor_id=event.store_id,
                entity_id=event.entity_id,
                occurred_at=event.occurred_at,
                payload=event.payload,
            )
    except IntegrityError:
        return None
    transaction.on_commit(lambda: _send(change.pk))
    return change


def _send(change_id: int) -> None:
    try:
        # Not a merchant's task yet (routing happens when it runs): user 0 in its name.
        enqueue_task(PROCESS_TASK, change_id, user_id=0, key=change_id)
    except Exception:
        # The row stays pending; `evotor_changes_retry_pending` sends it again.
        logger.exception("queueing an Evotor change failed", extra={"change_id": change_id})


def _merchants(change: EvotorChange) -> list:
    if change.evotor_user_id:
        connection = evotor_connection_by_evotor_user_id(evotor_user_id=change.evotor_user_id)
        if connection is not None:
            return [connection.user]
    if change.store_evotor_id:
        return list(
            User.objects.filter(
                cached_stores__evotor_id=change.store_evotor_id, cached_stores__is_removed=False
            ).distinct()
        )
    return []


def _apply(change: EvotorChange, user) -> str:
    kind, removed = change.event_type, change.action == "removed"
    store, entity = change.store_evotor_id, change.entity_id
    if kind == payloads.PRODUCT and removed:
        return catalog_changes.catalog_product_remove(
            user=user, store_evotor_id=store, product_id=entity, occurred_at=change.occurred_at
        )
    if kind == payloads.PRODUCT:
        product = parse_product(change.payload, store)
        return catalog_changes.catalog_product_apply(user=user, product=product)
    if kind == payloads.PRODUCT_GROUP and removed:
        return catalog_changes.catalog_group_remove(
            user=user, store_evotor_id=store, group_id=entity, occurred_at=change.occurred_at
        )
    if kind == payloads.PRODUCT_GROUP:
        group = parse_group(change.payload, store)
        return catalog_changes.catalog_group_apply(user=user, group=group)
    if kind == payloads.PRODUCT_IMAGE:
        return catalog_changes.catalog_product_image_changed(
            user=user, store_evotor_id=store, product_id=entity
        )
    return ChangeOutcome.IGNORED


@transaction.atomic
def evotor_change_process(*, change_id: int) -> str:
    """Apply one recorded event to its merchant's cached catalog; returns the outcome.

    Safe to run twice: a change no longer pending is left alone. An event for no known
    merchant is kept with outcome `unknown_user` and changes nothing.
    """
    change = EvotorChange.objects.select_for_update().filter(pk=change_id).first()
    if change is None or change.outcome != ChangeOutcome.PENDING:
        return "skipped"
    outcome = ChangeOutcome.IGNORED
    if change.event_type in payloads.CATALOG_TYPES:
        users = _merchants(change)
        outcome = ChangeOutcome.UNKNOWN_USER if not users else None
        for user in users:
            try:
                result = _apply(change, user)
            except (EvotorError, ValueError, DataError):
                # A payload our columns cannot hold (or not a product at all): kept, marked,
                # never retried forever; the full refresh reads the product as it really is.
                result = ChangeOutcome.INVALID
            if result == catalog_changes.APPLIED:
                catalog_changes.catalog_changes_announce(
                    user=user, products=1, groups=change.event_type == payloads.PRODUCT_GROUP
                )
            if outcome is None or result == catalog_changes.APPLIED:
                outcome, change.user = result, user
    change.outcome = outcome
    change.processed_at = timezone.now()
    change.save(update_fields=["outcome", "user", "processed_at"])
    logger.info(
        "Evotor change processed",
        extra={"change_id": change.pk, "type": change.event_type, "outcome": str(outcome)},
    )
    return str(outcome)


def evotor_changes_retry_pending(*, older_than_seconds: int = 60) -> int:
    """Send again the tasks of changes still pending a while after they arrived (the broker
    refused or lost them); processing is idempotent, so a late original does no harm."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        EvotorChange.objects.filter(outcome=ChangeOutcome.PENDING, received_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
    for change_id in ids:
        _send(change_id)
    return len(ids)


# --- pull: the events API ---------------------------------------------------------------------
def _now_ms() -> int:
    return int(time.time() * 1000)


def evotor_events_poll(*, client: EvotorClient | None = None) -> dict:
    """Read the application's new events once (the one poller of the application).

    Each page is recorded and the cursor moved in one transaction: a crash loses nothing (the
    page is read again) and replays nothing (its events are recognised by id). Malformed events
    are logged and skipped, never allowed to stop the cursor forever.
    """
    app_id, token = settings.EVOTOR_APP_ID, settings.EVOTOR_PUBLISHER_TOKEN
    if not intake_enabled("pull") or not app_id or not token:
        return {"status": "off"}
    with cache_lock(POLL_LOCK) as acquired:
        if not acquired:
            return {"status": "skipped"}
        cursor, _created = EventsCursor.objects.get_or_create(
            pk=1, defaults={"since_ms": _now_ms() - FIRST_POLL_LOOKBACK_MS}
        )
        client = client or EvotorClient(token, auth_header="bearer")
        read = recorded = 0
        try:
            pages = client.iter_event_pages(
                app_id, types=list(payloads.CATALOG_TYPES), since_ms=cursor.since_ms
            )
            for page in pages:
                read += len(page)
                recorded += _record_page(page)
        except EvotorError as exc:
            logger.warning("the Evotor events API failed", extra={"error": type(exc).__name__})
            return {"status": "failed", "read": read, "recorded": recorded}
    return {"status": "ok", "read": read, "recorded": recorded}


def evotor_events_poll_rounds(
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """One run of the scheduled poller: read the events now, then again every
    `EVOTOR_EVENTS_POLL_SECONDS` until the next run takes over.

    django-q2's schedules count whole minutes and its scheduler looks every 30 s, so a poller
    that read once a run made a pulled change wait 0–90 s (p50 38 s, p95 68 s at 100 changes a
    minute: docs/benchmarks.md "Freshness"). A run stops when a newer run has started (the
    cache key `POLLER_RUN_KEY`), when reading fails, or after two intervals whatever happens;
    it holds one fast worker meanwhile. `EVOTOR_EVENTS_POLL_SECONDS` 0: one read a run.
    """
    every = settings.EVOTOR_EVENTS_POLL_SECONDS
    lasting = 2 * settings.EVOTOR_EVENTS_INTERVAL_SECONDS
    token = uuid.uuid4().hex
    cache.set(POLLER_RUN_KEY, token, timeout=lasting + 60)
    started = clock()
    total = {"status": "ok", "read": 0, "recorded": 0, "rounds": 0}
    while True:
        result = evotor_events_poll()
        if result["status"] != "ok":
            return {**total, **result, "rounds": total["rounds"] + 1}
        total["rounds"] += 1
        total["read"] += result["read"]
        total["recorded"] += result["recorded"]
        if every <= 0 or clock() - started + every > lasting:
            return total
        sleep(every)
        if cache.get(POLLER_RUN_KEY) != token:
            return total  # a newer run reads from now on


@transaction.atomic
def _record_page(page: list) -> int:
    cursor = EventsCursor.objects.select_for_update().get(pk=1)
    newest = cursor.since_ms
    recorded = 0
    for item in page:
        if not isinstance(item, dict):
            continue
        try:
            event = payloads.parse_change_event(item)
        except WebhookError as exc:
            logger.warning("a malformed event from the events API", extra={"error": str(exc)})
            continue
        if evotor_change_record(source=ChangeSource.PULL, event=event) is not None:
            recorded += 1
        moment = event.occurred_at or parse_timestamp(item.get("timestamp"))
        if moment is not None:
            newest = max(newest, int(moment.timestamp() * 1000))
    cursor.since_ms = newest
    cursor.events_read += len(page)
    cursor.save(update_fields=["since_ms", "events_read", "updated_at"])
    return recorded
