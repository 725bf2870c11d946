"""The preview of the next publish, computed by a task when the catalog is large (issue 10
point 4: a 100k plan takes 25 s, the page may not wait for it) and kept until the catalogs or
settings it was computed from change (sync/preview_store.py).

One row per merchant: a new computation reuses it (queued → running → ready or failed, like
every run: `evosync.runs.LifecycleRun`). The plan's items are kept in `PlanPreviewChunk` rows,
one page of one section each, so the page reads only what it shows.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evosync.runs import LifecycleRun


class PreviewStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting in the queue")
    RUNNING = "running", _("Being computed")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class PlanPreview(LifecycleRun):
    """A merchant's preview: its progress while computed, then the result."""

    TASK = "sync.tasks.compute_preview"
    ACTIVE_STATUSES = (PreviewStatus.QUEUED, PreviewStatus.RUNNING)
    INTERRUPTED_MESSAGE = _("Computing the preview was interrupted before it finished.")
    NEVER_STARTED_MESSAGE = _("The preview was queued but never computed.")
    QUEUE_DOWN_MESSAGE = _(
        "The task queue is not answering, so the preview could not be computed. Nothing was "
        "changed; try again in a few minutes."
    )

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="plan_preview",
        verbose_name=_("user"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=PreviewStatus.choices, default=PreviewStatus.QUEUED
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    # What the result is computed from (sync.preview_store.preview_source_key): a preview whose
    # key differs from the current one is stale and computed again.
    source_key = models.CharField(_("computed from"), max_length=64, blank=True, default="")
    products = models.PositiveIntegerField(_("products in the catalog"), default=0)
    stage = models.CharField(_("stage"), max_length=16, blank=True, default="")
    done = models.PositiveIntegerField(_("steps done"), default=0)
    total = models.PositiveIntegerField(_("steps"), default=0)
    # The last sign of life of the task computing it (each step writes it).
    heartbeat_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    # The page's summary of the plan (sync.preview_store.PreviewSummary, pickled, compressed).
    summary = models.BinaryField(_("summary"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("preview")
        verbose_name_plural = _("previews")

    def __str__(self):
        return f"{self.user} · {self.get_status_display()}"

    @property
    def is_ready(self) -> bool:
        return self.status == PreviewStatus.READY

    @property
    def has_result(self) -> bool:
        """Whether a computed result is kept: while the preview is computed again (or after
        that failed) it is the last one, shown as stale (sync/views_preview.py)."""
        return self.summary is not None and self.computed_at is not None

    @property
    def progress_percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    def task_args(self) -> tuple:
        return (self.user_id, self.pk)

    def holder_alive(self) -> bool | None:
        """A running preview whose task wrote no progress for `PREVIEW_STALL_SECONDS` has lost
        its worker (each step writes `heartbeat_at`; the longest step, the plan itself, takes
        well under a minute at 100k products)."""
        if self.heartbeat_at is None:
            return None
        limit = timezone.now() - timedelta(seconds=settings.PREVIEW_STALL_SECONDS)
        return self.heartbeat_at >= limit


class PlanPreviewChunk(models.Model):
    """One page of one section of a preview (the items of one action, or the flagged ones), in
    plan order: `sync.preview_store.CHUNK_ITEMS` items, pickled and compressed."""

    preview = models.ForeignKey(PlanPreview, on_delete=models.CASCADE, related_name="chunks")
    section = models.CharField(max_length=16)
    number = models.PositiveIntegerField()
    items = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["preview", "section", "number"], name="sync_preview_chunk_unique"
            ),
        ]

    def __str__(self):
        return f"{self.preview_id} · {self.section} · {self.number}"
