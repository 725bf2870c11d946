"""Things only the merchant can fix: a banner while unresolved, e-mailed at most daily."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AlertCause(models.TextChoices):
    TOKEN_REVOKED = "token_revoked", _("VK token revoked")
    MARKET_OFF = "market_off", _("Market is off in the community")
    CAPTCHA = "captcha", _("VK asked for a captcha")
    REMOVAL_GUARD = "removal_guard", _("A run is waiting for confirmation")
    EVOTOR_TOKEN_REVOKED = "evotor_token_revoked", _("Evotor token revoked")


class Alert(models.Model):
    """Something only the merchant can fix; a banner while unresolved, e-mailed at most daily."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sync_alerts"
    )
    cause = models.CharField(_("cause"), max_length=24, choices=AlertCause.choices)
    message = models.TextField(_("message"))
    created_at = models.DateTimeField(_("raised"), auto_now_add=True)
    last_emailed_at = models.DateTimeField(_("last e-mailed"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [models.Index(fields=["user", "resolved_at"], name="sync_alert_user_resolved")]
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_cause_display()} · {self.user}"
