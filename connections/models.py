import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from connections.crypto import EncryptedTextField, mask


class ConnectionState(models.TextChoices):
    OK = "ok", _("Working")
    BROKEN = "broken", _("Broken")
    DISABLED = "disabled", _("Disabled")


def new_api_token() -> str:
    return secrets.token_urlsafe(32)


class EvotorConnection(models.Model):
    """A merchant's link to the Evotor cloud.

    `cloud_token` is what we send to Evotor; `api_token` is what EvoSync issued to Evotor in
    reply to /user/create or /user/verify (evotor-api.md §7), so Evotor can call us back.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="evotor_connection"
    )
    cloud_token = EncryptedTextField(_("cloud token"), blank=True, default="")
    api_token = models.CharField(
        _("EvoSync token for Evotor"), max_length=128, unique=True, default=new_api_token
    )
    evotor_user_id = models.CharField(_("Evotor user id"), max_length=32, blank=True, default="")
    state = models.CharField(
        _("state"), max_length=16, choices=ConnectionState.choices, default=ConnectionState.OK
    )
    last_error = models.TextField(_("last error"), blank=True, default="")
    last_checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Evotor connection")
        verbose_name_plural = _("Evotor connections")

    def __str__(self):
        return f"Evotor · {self.user}"

    @property
    def masked_token(self) -> str:
        return mask(self.cloud_token)

    @property
    def is_usable(self) -> bool:
        return bool(self.cloud_token) and self.state == ConnectionState.OK


class VkConnection(models.Model):
    """A merchant's link to their VK community: a user access token and the community id."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vk_connection"
    )
    access_token = EncryptedTextField(_("access token"), blank=True, default="")
    group_id = models.PositiveBigIntegerField(_("community id"), null=True, blank=True)
    group_name = models.CharField(_("community name"), max_length=200, blank=True, default="")
    state = models.CharField(
        _("state"), max_length=16, choices=ConnectionState.choices, default=ConnectionState.OK
    )
    last_error = models.TextField(_("last error"), blank=True, default="")
    last_checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("VK connection")
        verbose_name_plural = _("VK connections")

    def __str__(self):
        return f"VK · {self.user}"

    @property
    def masked_token(self) -> str:
        return mask(self.access_token)

    @property
    def owner_id(self) -> int:
        """VK's market methods address the community with a negative id."""
        return -int(self.group_id)

    @property
    def is_usable(self) -> bool:
        return bool(self.access_token) and bool(self.group_id) and self.state == ConnectionState.OK


class VkRateLimitSlot(models.Model):
    """When a VK token may send its next request, shared by every worker process.

    The VK client's database rate limiter (connections/vk_rate_limit.py) reserves slots here
    when there is no Redis. `key` is a hash of the token, never the token itself.
    """

    key = models.CharField(max_length=64, primary_key=True)
    next_slot_us = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("VK request slot")
        verbose_name_plural = _("VK request slots")

    def __str__(self):
        return self.key[:12]
