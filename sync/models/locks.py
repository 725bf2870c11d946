"""Who is publishing for a merchant right now (used by sync/locks.py)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SyncLock(models.Model):
    """Who is publishing for a merchant right now (sync/locks.py): one row per merchant.

    A table of its own, not a SyncSettings column, so saving the settings form never clobbers it.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sync_lock"
    )
    holder = models.CharField(max_length=200, blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sync lock")
        verbose_name_plural = _("sync locks")

    def __str__(self):
        return f"{self.user}: {self.holder or '—'}"
