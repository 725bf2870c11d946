from django.db import models
from django.utils.translation import gettext_lazy as _


class EventKind(models.TextChoices):
    INSTALLATION = "installation", _("Installation")
    SUBSCRIPTION = "subscription", _("Subscription")


class EventOutcome(models.TextChoices):
    APPLIED = "applied", _("Applied")
    IGNORED = "ignored", _("Ignored")
    STALE = "stale", _("Older than the last applied event")
    UNKNOWN_USER = "unknown_user", _("No account for this Evotor user")


class EvotorEvent(models.Model):
    """One installation or subscription event Evotor sent us (evotor-api.md §7.4).

    Evotor repeats an event until it gets 200, for days: the event id makes a replay a no-op,
    and the event time keeps an old event that arrives late from undoing a newer one.
    """

    kind = models.CharField(_("kind"), max_length=16, choices=EventKind.choices)
    event_id = models.CharField(_("event id"), max_length=64, null=True, blank=True, unique=True)
    event_type = models.CharField(_("type"), max_length=64)
    evotor_user_id = models.CharField(_("Evotor user id"), max_length=32, blank=True, default="")
    occurred_at = models.DateTimeField(_("happened at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=EventOutcome.choices)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("Evotor event")
        verbose_name_plural = _("Evotor events")
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["evotor_user_id", "kind", "occurred_at"])]

    def __str__(self):
        return f"{self.event_type} · {self.evotor_user_id or '—'}"
