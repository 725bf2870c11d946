"""How a run that VK or Evotor stopped ends (sync/publish/run.py): why, in the merchant's
words, with an alert where only the merchant can fix it, and what VK said kept for staff."""

from __future__ import annotations

import logging

from django.utils.translation import gettext as _

from connections import vk_errors
from evosync.logging import redact
from sync.lifecycle import mark_evotor_broken, mark_vk_broken, run_alert, run_finish, run_save
from sync.models import AlertCause, RunStatus, StopCause, SyncRun
from sync.publish.work import EvotorStopped

# The run's own logger: what staff filter the logs by.
logger = logging.getLogger("sync.publish.run")


STOP_CAUSE_OF = (
    (vk_errors.VkAuthError, StopCause.TOKEN_REVOKED, AlertCause.TOKEN_REVOKED),
    (vk_errors.VkPermissionError, StopCause.TOKEN_REVOKED, AlertCause.TOKEN_REVOKED),
    (vk_errors.VkMarketDisabledError, StopCause.MARKET_OFF, AlertCause.MARKET_OFF),
    (vk_errors.VkCaptchaError, StopCause.CAPTCHA, AlertCause.CAPTCHA),
)


def _record_vk_error(run: SyncRun, error: vk_errors.VkApiError, *, level: int) -> None:
    """What VK said, for staff: logged (tokens masked) and kept on the run (`vk_error`)."""
    text = redact(error.message or "")
    method = error.method or "execute"
    run.vk_error = f"VK error {error.code} in {method}: {text}"[:500]
    run_save(run, "vk_error")
    logger.log(
        level,
        "sync run stopped by a VK error",
        extra={
            "user_id": run.user_id,
            "run_id": run.pk,
            "code": error.code,
            "method": method,
            "vk_message": text,
        },
    )


def run_stopped(run: SyncRun, ctx, error: Exception) -> SyncRun:
    """The run ended early: why, in the merchant's words, and an alert where they must act."""
    if isinstance(error, EvotorStopped):
        message = _(
            "Evotor no longer accepts the token, so product photos could not be read. "
            "Reconnect Evotor, then publish again."
        )
        mark_evotor_broken(ctx.user, message)
        run_alert(ctx.user, AlertCause.EVOTOR_TOKEN_REVOKED, message)
        return run_finish(run, RunStatus.STOPPED, error=message, stop_cause=StopCause.EVOTOR_BROKEN)
    if isinstance(error, vk_errors.VkApiError):
        message = error.user_message
    else:  # not expected: Stop carries VK's or Evotor's errors only
        logger.error("sync run stopped by %s", type(error).__name__, extra={"run_id": run.pk})
        message = _("Something went wrong on our side; we will look into it. Try again later.")
    for error_class, stop_cause, alert_cause in STOP_CAUSE_OF:
        if isinstance(error, error_class):
            _record_vk_error(run, error, level=logging.WARNING)
            if stop_cause == StopCause.TOKEN_REVOKED:
                mark_vk_broken(ctx.vk, message)
            run_alert(ctx.user, alert_cause, message)
            return run_finish(run, RunStatus.STOPPED, error=message, stop_cause=stop_cause)
    # Limits that would not clear, VK down, our own bug in a script: try again next time.
    if isinstance(error, vk_errors.VkApiError):
        _record_vk_error(run, error, level=logging.ERROR)
    return run_finish(run, RunStatus.FAILED, error=message)
