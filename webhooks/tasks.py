"""Background tasks of the webhooks app (django-q2). Thin: one service call each."""

from __future__ import annotations

from webhooks import changes


def process_evotor_change(change_id: int) -> str:
    """Apply one recorded Evotor change; safe to run twice."""
    return changes.evotor_change_process(change_id=change_id)


def poll_evotor_events() -> dict:
    """The events-API poller (pull intake); off unless EVOTOR_INTAKE has `pull`. Reads every
    EVOTOR_EVENTS_POLL_SECONDS until the next run (webhooks.changes.evotor_events_poll_rounds).
    Also sends again the tasks of changes the broker lost."""
    changes.evotor_changes_retry_pending()
    return changes.evotor_events_poll_rounds()
