"""The debounce of targeted publishes (sync/debounce.py): one row per merchant saying when the
changed products (`catalog.DirtyProduct`) are due to be published and whether a task for them
is on its way."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PublishDue(models.Model):
    """When the merchant's changes from Evotor are due to be published.

    `quiet_until` moves forward with every change (the quiet period); `first_change_at` is the
    oldest change not yet claimed by a publish, so a stream of changes is published no later
    than the cap after it. `task_sent_at` is set while a task for the row is queued or waiting
    (at most one at a time); `whole` asks for a whole-catalog plan (a product group changed).
    The changed products themselves are `catalog.DirtyProduct` rows: this row only times them.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="publish_due"
    )
    quiet_until = models.DateTimeField(_("quiet until"))
    first_change_at = models.DateTimeField(_("oldest change waiting"), null=True, blank=True)
    whole = models.BooleanField(_("whole catalog"), default=False)
    task_sent_at = models.DateTimeField(_("task sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("changes to publish")
        verbose_name_plural = _("changes to publish")

    def __str__(self):
        return f"{self.user} · {self.quiet_until:%H:%M:%S}"
