"""What VK's answer to one item's calls means for the item: pure decisions, no state.

The executor (sync/publish/executor.py) acts on the `Verdict`: record the item done, send it
again, stop the run, or record VK's refusal on the link (sync/publish/links.py).
"""

from __future__ import annotations

from enum import StrEnum

from connections.vk_client import VkCallResult
from connections.vk_errors import VkApiError, VkDependencyError, VkItemError, VkUnavailableError
from sync.models import RunAction
from sync.publish.transport import NotSentError, UnknownOutcomeError

NOT_FOUND = 1403
TOO_LATE_TO_RESTORE = 1400
NOT_DELETED = 1518


class Verdict(StrEnum):
    LOST = "lost"  # a market.add whose answer was lost: VK may have made it (resolved by sku)
    RETRY = "retry"  # not applied, or applied idempotently: send again
    NOT_SENT = "not_sent"  # certainly not applied: send again (a new item goes back to pending)
    STOP = "stop"  # the whole run must stop (token, captcha, Market off, limits)
    ALREADY_DELETED = "already_deleted"  # deleting an item VK no longer has: done
    GONE = "gone"  # VK no longer has the item: forget it, made again next run
    REFUSED = "refused"  # VK refused this item: its message is kept, tried again next run


def main_result(
    results: list[VkCallResult], *, with_photo: bool, restore_deleted: bool
) -> tuple[VkCallResult | None, VkApiError | None]:
    """(the result that says the item went through, or None; the error that says why not)."""
    if with_photo:
        save, main = results
        if main.ok:
            return main, None
        error = main.error
        if isinstance(error, VkDependencyError) and not save.ok:
            error = save.error  # the photo failed first: that is the reason
        return None, error
    if restore_deleted:
        restore, rest = results[0], results[1:]
        if not restore.ok and restore.error.code != NOT_DELETED:
            return None, restore.error
        if not rest:
            return restore, None
        (main,) = rest
    else:
        (main,) = results
    return (main, None) if main.ok else (None, main.error)


def verdict(error: VkApiError, *, action: str, restore_deleted: bool) -> Verdict:
    creating = action == RunAction.CREATE
    if isinstance(error, UnknownOutcomeError):
        return Verdict.LOST if creating else Verdict.RETRY
    if isinstance(error, NotSentError) or (
        isinstance(error, VkUnavailableError) and not error.may_have_applied
    ):
        return Verdict.NOT_SENT
    if error.stops_run and not isinstance(error, VkItemError):
        return Verdict.STOP
    if error.code == NOT_FOUND and action == RunAction.DELETE:
        return Verdict.ALREADY_DELETED
    gone = error.code == NOT_FOUND and action in (
        RunAction.UPDATE,
        RunAction.HIDE,
        RunAction.RESTORE,
        RunAction.ADOPT,
    )
    if gone or (error.code in (TOO_LATE_TO_RESTORE, NOT_FOUND) and restore_deleted):
        return Verdict.GONE
    return Verdict.REFUSED
