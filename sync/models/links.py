"""What EvoSync knows it made in VK: one ItemLink per Evotor product (with the crash-safe
`creating` state, sync/publish/links.py) and one AlbumLink per Evotor group."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LinkState(models.TextChoices):
    PENDING = "pending", _("Waiting")
    CREATING = "creating", _("Being created")
    PUBLISHED = "published", _("Published")
    HIDDEN = "hidden", _("Hidden")
    DELETED = "deleted", _("Deleted")
    FAILED = "failed", _("Failed")


class ItemLink(models.Model):
    """One Evotor product (in one store) ↔ one VK item.

    `state` changes only through sync/publish/links.py (the state machine).
    `sku` is always set before `market.add` is sent (state `creating`): it is how a lost answer
    is recovered (docs/contracts/vk-market-api.md §11: VK has no dedup key). `vk_item_id` is unique per
    merchant; a plain unique constraint does it because SQLite and MariaDB both treat NULLs as
    distinct. `published_fields` keeps the VK fields last sent (plus `hidden`), so a plan can
    show old → new. `photo_hash` identifies the photo source last uploaded (its kind, id and
    version), `evotor_image` what Evotor's image list said when last read, at `source_hash`
    (the product's content hash then).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="item_links"
    )
    store_id = models.CharField(_("Evotor store"), max_length=64)
    product_id = models.CharField(_("Evotor product"), max_length=64)
    product_name = models.CharField(_("product"), max_length=255, blank=True, default="")
    vk_item_id = models.BigIntegerField(_("VK item"), null=True, blank=True)
    sku = models.CharField(_("SKU"), max_length=50)
    state = models.CharField(
        _("state"), max_length=16, choices=LinkState.choices, default=LinkState.PENDING
    )
    adopted = models.BooleanField(_("adopted from VK"), default=False)
    album_ids = models.JSONField(_("VK albums"), default=list, blank=True)
    published_fields = models.JSONField(default=dict, blank=True)
    photo_hash = models.CharField(max_length=64, blank=True, default="")
    vk_photo_id = models.BigIntegerField(null=True, blank=True)
    source_hash = models.CharField(max_length=64, blank=True, default="")
    evotor_image = models.CharField(max_length=200, blank=True, default="")
    # Fields seen edited in VK since EvoSync last sent them: {field: the value VK shows}
    # (sync/vk_edits.py writes it after each VK catalog read).
    vk_edits = models.JSONField(_("edited in VK"), default=dict, blank=True)

    # Evotor's pictures after the first, as last read ("<id> <url>" each, Evotor's order, at most
    # 4); None: not read yet. And the extra photos last sent as `photo_ids`: [[hash, VK photo
    # id], ...] (sync/publish/extra_photos.py).
    evotor_extra_images = models.JSONField(null=True, blank=True, default=None)
    extra_photos = models.JSONField(default=list, blank=True)

    # What the product, its link and the settings were when a whole plan last found the item
    # already as it should be (sync/plan/skip.py): equal again, the next plan skips it.
    plan_hash = models.CharField(max_length=32, blank=True, default="")
    last_error = models.TextField(_("last error"), blank=True, default="")
    error_count = models.PositiveIntegerField(_("errors in a row"), default=0)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("published product")
        verbose_name_plural = _("published products")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "store_id", "product_id"], name="sync_itemlink_one_per_product"
            ),
            models.UniqueConstraint(
                fields=["user", "vk_item_id"], name="sync_itemlink_one_per_item"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "state"], name="sync_itemlink_user_state"),
            # A targeted plan checks a new sku against the merchant's items (sync/plan/targeted.py).
            models.Index(fields=["user", "sku"], name="sync_itemlink_user_sku"),
        ]

    def __str__(self):
        return f"{self.product_name or self.product_id} → {self.vk_item_id or '—'}"

    @property
    def is_hidden(self) -> bool:
        return bool(self.published_fields.get("hidden"))


class AlbumLink(models.Model):
    """An Evotor product group ↔ the VK album made from it (groups of one title share one)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="album_links"
    )
    store_id = models.CharField(_("Evotor store"), max_length=64)
    group_id = models.CharField(_("Evotor group"), max_length=64)
    vk_album_id = models.BigIntegerField(_("VK album"))
    title = models.CharField(_("title"), max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("published album")
        verbose_name_plural = _("published albums")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "store_id", "group_id"], name="sync_albumlink_one_per_group"
            )
        ]

    def __str__(self):
        return f"{self.title} → {self.vk_album_id}"
