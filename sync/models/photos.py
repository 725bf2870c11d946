"""Photos a merchant uploads in EvoSync for a product or a group that has none in Evotor."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PhotoEntity(models.TextChoices):
    PRODUCT = "product", _("Product")
    GROUP = "group", _("Group")


# VK shows a main photo and up to 4 more (`photo_ids`, docs/contracts/vk-market-api.md §3).
PHOTOS_PER_PRODUCT = 5


class ProductPhoto(models.Model):
    """A photo the merchant uploaded for a product or a group (used when Evotor has none).

    A product may have up to `PHOTOS_PER_PRODUCT`, in the merchant's order (`position` 0 is
    the main photo, the others go to VK's `photo_ids`); a group has one."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="product_photos"
    )
    store_id = models.CharField(_("Evotor store"), max_length=64)
    entity_type = models.CharField(_("for"), max_length=8, choices=PhotoEntity.choices)
    entity_id = models.CharField(_("Evotor id"), max_length=64)
    image = models.ImageField(_("photo"), upload_to="product_photos/")
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now=True)

    class Meta:
        verbose_name = _("uploaded photo")
        verbose_name_plural = _("uploaded photos")
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "store_id", "entity_type", "entity_id", "position"],
                name="sync_productphoto_one_per_place",
            )
        ]

    def __str__(self):
        return f"{self.entity_type} {self.entity_id}"
