from django.conf import settings
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
    """One installation or subscription event Evotor sent us (docs/contracts/evotor-api.md §7.4).

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


class ChangeSource(models.TextChoices):
    PUSH = "push", _("Push from Evotor")
    PULL = "pull", _("Events API")
    LEGACY = "legacy", _("Legacy v1 notification")


class ChangeOutcome(models.TextChoices):
    PENDING = "pending", _("Waiting to be processed")
    APPLIED = "applied", _("Applied")
    UNCHANGED = "unchanged", _("Nothing new")
    STALE = "stale", _("Older than the cached data")
    UNKNOWN_USER = "unknown_user", _("No merchant for this Evotor user or store")
    UNKNOWN_STORE = "unknown_store", _("Store not read yet")
    IGNORED = "ignored", _("Ignored")
    INVALID = "invalid", _("Payload not understood")


class EvotorChange(models.Model):
    """One change event from Evotor (docs/contracts/evotor-api.md §7.5), stored raw before it is processed.

    Recorded first and processed by a task, so the push is answered at once (Evotor waits
    15 s) and a worker lost mid-way leaves the event pending, not lost. `delivery_id`
    (`X-Evotor-Delivery`) and `event_id` (the envelope's `id`, the same whether the event was
    pushed or pulled) are unique: a retried delivery, or one event from both channels, is
    recorded once and changes nothing twice.
    """

    source = models.CharField(_("source"), max_length=16, choices=ChangeSource.choices)
    delivery_id = models.CharField(
        _("delivery id"), max_length=64, null=True, blank=True, unique=True
    )
    event_id = models.CharField(_("event id"), max_length=64, null=True, blank=True, unique=True)
    event_type = models.CharField(_("type"), max_length=64)
    action = models.CharField(_("action"), max_length=32, blank=True, default="")
    evotor_user_id = models.CharField(_("Evotor user id"), max_length=32, blank=True, default="")
    store_evotor_id = models.CharField(_("Evotor store id"), max_length=64, blank=True, default="")
    entity_id = models.CharField(_("Evotor id"), max_length=64, blank=True, default="")
    occurred_at = models.DateTimeField(_("happened at"), null=True, blank=True)
    payload = models.JSONField(_("payload"), default=dict)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="evotor_changes",
    )
    outcome = models.CharField(
        _("outcome"),
        max_length=16,
        choices=ChangeOutcome.choices,
        default=ChangeOutcome.PENDING,
    )
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Evotor change")
        verbose_name_plural = _("Evotor changes")
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["outcome", "received_at"], name="webhooks_change_outcome")]

    def __str__(self):
        return f"{self.event_type} {self.action} · {self.entity_id or '—'}"


class EventsCursor(models.Model):
    """Where the one events-API poller of the application stopped (a single row, pk 1).

    `since_ms` is the newest event time recorded, in Evotor's milliseconds; it moves in the
    same transaction as the events it covers, so a restart neither loses nor replays events
    (an event at exactly `since_ms` is read again and recognised by its id).
    """

    since_ms = models.BigIntegerField(_("read through (ms)"), default=0)
    events_read = models.PositiveBigIntegerField(_("events read"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("Evotor events cursor")
        verbose_name_plural = _("Evotor events cursor")

    def __str__(self):
        return str(self.since_ms)
