"""Publishing runs and their items: the history the merchant reads (sync/lifecycle.py runs
them through the shared lifecycle of evosync/runs.py)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from evosync.runs import LifecycleRun


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("On schedule")
    MANUAL = "manual", _("By hand")
    EVOTOR_CHANGE = "evotor_change", _("Change in Evotor")
    RETRY = "retry", _("Retry of failed items")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    PLANNING = "planning", _("Planning")
    RUNNING = "running", _("Publishing")
    SUCCEEDED = "succeeded", _("Done")
    PARTIAL = "partial", _("Done with problems")
    FAILED = "failed", _("Failed")
    HELD = "held", _("Waiting for confirmation")
    STOPPED = "stopped", _("Stopped")


class StopCause(models.TextChoices):
    NONE = "", _("—")
    TOKEN_REVOKED = "token_revoked", _("VK token revoked")
    MARKET_OFF = "market_off", _("Market is off in the community")
    CAPTCHA = "captcha", _("VK asked for a captcha")
    REMOVAL_GUARD = "removal_guard", _("Too many items would be removed")
    EVOTOR_BROKEN = "evotor_broken", _("Evotor connection broken")


class SyncRun(LifecycleRun):
    """One publishing run: what triggered it, how it ended, what it did (live `done`/`total`).

    Queued, running, finished and stale like every run (`evosync.runs.LifecycleRun`)."""

    ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.PLANNING, RunStatus.RUNNING)
    # What a run counts as it goes (sync/publish/records.py keeps them up to date).
    COUNTERS = (
        "done",
        "created",
        "updated",
        "hidden",
        "restored",
        "deleted",
        "adopted",
        "failed",
        "skipped",
        "albums_created",
    )
    QUEUED_AT = "created_at"
    TASK = "sync.tasks.sync_user"
    INTERRUPTED_MESSAGE = _(
        "The run was interrupted (the worker stopped). The next run carried on where it "
        "left off; nothing was published twice."
    )
    NEVER_STARTED_MESSAGE = _("The run was queued but never started; start a new one.")
    QUEUE_DOWN_MESSAGE = _(
        "The task queue is not answering, so the run could not start. Nothing was published; "
        "try again in a few minutes."
    )

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sync_runs"
    )
    trigger = models.CharField(
        _("trigger"), max_length=16, choices=RunTrigger.choices, default=RunTrigger.SCHEDULE
    )
    status = models.CharField(
        _("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    dry_run = models.BooleanField(_("preview only"), default=False)
    # How many hides and deletes the merchant confirmed for this run (the removal guard lets a
    # plan through that removes no more; 0: none confirmed).
    confirmed_removals = models.PositiveIntegerField(_("removals confirmed"), default=0)
    total = models.PositiveIntegerField(_("to apply"), default=0)
    done = models.PositiveIntegerField(_("applied"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    hidden = models.PositiveIntegerField(_("hidden"), default=0)
    restored = models.PositiveIntegerField(_("restored"), default=0)
    deleted = models.PositiveIntegerField(_("deleted"), default=0)
    adopted = models.PositiveIntegerField(_("adopted"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    albums_created = models.PositiveIntegerField(_("albums created"), default=0)
    vk_requests = models.PositiveIntegerField(_("VK requests"), default=0)
    # Requests VK refused with error 6 "Too many requests per second" (each was retried):
    # the shared rate limiter should keep this at 0 (issue 11).
    vk_rate_refusals = models.PositiveIntegerField(_("VK rate-limit refusals"), default=0)
    # What VK said when it stopped the run (code, method, message; tokens masked), for staff:
    # `error` says it in the merchant's words.
    vk_error = models.CharField(_("VK error"), max_length=500, blank=True, default="")
    stop_cause = models.CharField(
        _("stop cause"), max_length=16, choices=StopCause.choices, blank=True, default=""
    )
    plan_summary = models.JSONField(_("plan"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        indexes = [models.Index(fields=["user", "-created_at"], name="sync_run_user_created")]
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"#{self.pk} {self.get_status_display()}"

    @property
    def duration(self):
        """How long the run took (or has taken so far), as a timedelta; None before it starts."""
        from django.utils import timezone

        if not self.started_at:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

    def task_args(self) -> tuple:
        return (self.user_id, self.trigger, self.pk)

    def task_variant(self) -> str:
        """The lane's key: the trigger, or `chunk` for the next chunk of a long whole run
        (sync/publish/chunked.py), which always takes the slow lane."""
        if (self.plan_summary or {}).get("chunks"):
            return "chunk"
        return str(self.trigger or "")

    def holder_alive(self) -> bool | None:
        """A run shown planning or publishing is alive while its merchant's lock is held."""
        from sync.locks import sync_lock_held

        return sync_lock_held(self.user_id)

    @property
    def between_chunks(self) -> bool:
        """Queued again after a chunk of a long run (sync/publish/chunked.py): part of it done."""
        return self.status == RunStatus.QUEUED and bool((self.plan_summary or {}).get("chunks"))

    @property
    def progress_percent(self) -> int:
        if not self.total:
            return 100 if self.finished_at else 0
        return min(100, round(100 * self.done / self.total))


class RunAction(models.TextChoices):
    CREATE = "create", _("Create")
    UPDATE = "update", _("Update")
    HIDE = "hide", _("Hide")
    RESTORE = "restore", _("Show again")
    DELETE = "delete", _("Delete")
    ADOPT = "adopt", _("Adopt existing VK item")


class RunItemStatus(models.TextChoices):
    OK = "ok", _("Done")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class SyncRunItem(models.Model):
    """What a run did to one product (one row per item; failed and skipped always recorded)."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="items")
    link = models.ForeignKey(
        "sync.ItemLink", on_delete=models.SET_NULL, null=True, blank=True, related_name="run_items"
    )
    store_id = models.CharField(_("Evotor store"), max_length=64)
    product_id = models.CharField(_("Evotor product"), max_length=64)
    product_name = models.CharField(_("product"), max_length=255, blank=True, default="")
    action = models.CharField(_("action"), max_length=8, choices=RunAction.choices)
    status = models.CharField(_("result"), max_length=8, choices=RunItemStatus.choices)
    error = models.TextField(_("error"), blank=True, default="")
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("sync run item")
        verbose_name_plural = _("sync run items")
        indexes = [models.Index(fields=["run", "status"], name="sync_runitem_run_status")]
        ordering = ["id"]

    def __str__(self):
        return f"{self.action} {self.product_name or self.product_id}: {self.status}"
