"""The one model of the project package: the pending-task slots of the task queues."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PendingTask(models.Model):
    """A task of one kind for one merchant that waits in a lane's queue and has not started.

    At most one row per (kind, merchant), held by a unique constraint, so a second enqueue of
    the same kind while one waits is refused by the database itself, however many processes
    try at once (`evosync.queues.pending_claim`). The row goes when a worker starts the task
    (django-q2's `pre_execute` signal), so a change arriving while the task runs queues the
    next one. A merchant is a plain id here: this app sits below the one holding users.
    """

    kind = models.CharField(_("task"), max_length=200)
    user_id = models.BigIntegerField(_("merchant id"))
    lane = models.CharField(_("lane"), max_length=64)
    task_name = models.CharField(_("task name"), max_length=255, db_index=True)
    queued_at = models.DateTimeField(_("queued at"))

    class Meta:
        verbose_name = _("pending task")
        verbose_name_plural = _("pending tasks")
        constraints = [
            models.UniqueConstraint(fields=["kind", "user_id"], name="evosync_pending_task_once"),
        ]

    def __str__(self):
        return self.task_name
