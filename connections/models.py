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


class VendorConnection(models.Model):
    """What both vendor connections share: their health, and a token shown only masked."""

    # The name of the subclass's encrypted token field.
    token_field: str

    state = models.CharField(
        _("state"), max_length=16, choices=ConnectionState.choices, default=ConnectionState.OK
    )
    last_error = models.TextField(_("last error"), blank=True, default="")
    last_checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    # When the vendor last accepted the current token; None for a token that never worked yet.
    # It tells a mistyped token ("wrong") from one that worked and was withdrawn ("revoked").
    token_verified_at = models.DateTimeField(_("token last accepted"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    @property
    def masked_token(self) -> str:
        return mask(getattr(self, self.token_field))

    @property
    def is_usable(self) -> bool:
        return bool(getattr(self, self.token_field)) and self.state == ConnectionState.OK


class EvotorConnection(VendorConnection):
    """A merchant's link to the Evotor cloud.

    `cloud_token` is what we send to Evotor; `api_token` is what EvoSync issued to Evotor in
    reply to /user/create or /user/verify (docs/contracts/evotor-api.md §7), so Evotor can call us back.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="evotor_connection"
    )
    token_field = "cloud_token"
    cloud_token = EncryptedTextField(_("cloud token"), blank=True, default="")
    # Encrypted at rest like the vendor tokens: it authorises calls to /installation/event, and
    # a replayed /user/create must answer the same token again, so a one-way hash cannot do.
    # Rows are found by evotor_user_id, never by this value.
    api_token = EncryptedTextField(_("EvoSync token for Evotor"), default=new_api_token)
    evotor_user_id = models.CharField(_("Evotor user id"), max_length=32, blank=True, default="")

    class Meta:
        verbose_name = _("Evotor connection")
        verbose_name_plural = _("Evotor connections")

    def __str__(self):
        return f"Evotor · {self.user}"


class VkTokenKind(models.TextChoices):
    PASTED = "pasted", _("Pasted by hand")
    VK_ID = "vk_id", _("VK ID (one-click connect)")


class VkConnection(VendorConnection):
    """A merchant's link to their VK community: a user access token and the community id.

    A token from VK ID's one-click connect (connections/vk_oauth.py) lives an hour and comes
    with a refresh token, both encrypted; `token_expires_at` says when to refresh, and
    `device_id` is part of every refresh request. A pasted token has neither.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vk_connection"
    )
    token_field = "access_token"
    access_token = EncryptedTextField(_("access token"), blank=True, default="")
    refresh_token = EncryptedTextField(_("refresh token"), blank=True, default="")
    token_expires_at = models.DateTimeField(_("access token expires"), null=True, blank=True)
    token_kind = models.CharField(
        _("token kind"), max_length=16, choices=VkTokenKind.choices, default=VkTokenKind.PASTED
    )
    device_id = models.CharField(_("VK ID device id"), max_length=255, blank=True, default="")
    vk_user_id = models.PositiveBigIntegerField(_("VK user id"), null=True, blank=True)
    group_id = models.PositiveBigIntegerField(_("community id"), null=True, blank=True)
    group_name = models.CharField(_("community name"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("VK connection")
        verbose_name_plural = _("VK connections")

    def __str__(self):
        return f"VK · {self.user}"

    @property
    def owner_id(self) -> int:
        """VK's market methods address the community with a negative id."""
        return -int(self.group_id)

    @property
    def is_usable(self) -> bool:
        return super().is_usable and bool(self.group_id)


class VkRateLimitSlot(models.Model):
    """One row per VK token, locked while a worker checks and reserves a request's place.

    The VK client's database rate limiter (connections/vk_rate_limit.py) uses it when there is
    no Redis. `key` is a hash of the token, never the token itself.
    """

    key = models.CharField(max_length=64, primary_key=True)

    class Meta:
        verbose_name = _("VK request slot")
        verbose_name_plural = _("VK request slots")

    def __str__(self):
        return self.key[:12]


class VkRateLimitSend(models.Model):
    """A recent request of one VK token: when it was written to the network, or, while it is
    still being sent, a reservation that counts as "any moment now" (connections/vk_rate_limit.py).
    """

    key = models.CharField(max_length=64)
    ticket = models.CharField(max_length=32, unique=True)
    at_us = models.BigIntegerField()

    class Meta:
        verbose_name = _("VK request sent")
        verbose_name_plural = _("VK requests sent")
        indexes = [models.Index(fields=["key", "at_us"], name="vk_rate_send_key_at")]

    def __str__(self):
        return f"{self.key[:12]} {self.at_us}"
