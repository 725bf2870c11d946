"""What EvoSync made in VK for products sold in variants (sync/publish/variants.py).

VK properties ("Размер") and their variants ("M") are the community's, shared by every item;
one row each, by title. A row is written `creating` (no VK id) before the call that makes it
leaves, so a run killed before the answer is stored looks the title up in
`market.getProperties` instead of making a duplicate. A `VariantGroupLink` is one Evotor
modification group grouped in VK (`market.groupItems`); `VariantMember` is what one item was
last given (its variant ids, main or not), so an unchanged re-sync sends nothing.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class VkProperty(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vk_properties"
    )
    title = models.CharField(_("title"), max_length=128)
    vk_property_id = models.BigIntegerField(_("VK property"), null=True, blank=True)

    class Meta:
        verbose_name = _("VK property")
        verbose_name_plural = _("VK properties")
        constraints = [
            models.UniqueConstraint(fields=["user", "title"], name="sync_vkproperty_one_per_title")
        ]

    def __str__(self):
        return self.title

    @property
    def creating(self) -> bool:
        return self.vk_property_id is None


class VkPropertyVariant(models.Model):
    property = models.ForeignKey(VkProperty, on_delete=models.CASCADE, related_name="variants")
    title = models.CharField(_("title"), max_length=128)
    vk_variant_id = models.BigIntegerField(_("VK variant"), null=True, blank=True)

    class Meta:
        verbose_name = _("VK property variant")
        verbose_name_plural = _("VK property variants")
        constraints = [
            models.UniqueConstraint(
                fields=["property", "title"], name="sync_vkpropertyvariant_one_per_title"
            )
        ]

    def __str__(self):
        return self.title


class VariantGroupLink(models.Model):
    """One Evotor modification group ↔ one VK item group. `item_ids` are the VK items grouped;
    `grouping` marks a `market.groupItems` sent whose answer is not stored yet."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="variant_groups"
    )
    store_id = models.CharField(_("Evotor store"), max_length=64)
    group_id = models.CharField(_("Evotor modification group"), max_length=64)
    vk_item_group_id = models.BigIntegerField(_("VK item group"), null=True, blank=True)
    item_ids = models.JSONField(_("VK items"), default=list, blank=True)
    grouping = models.BooleanField(_("grouping sent"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("variant group")
        verbose_name_plural = _("variant groups")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "store_id", "group_id"], name="sync_variantgrouplink_one_per_group"
            )
        ]

    def __str__(self):
        return f"{self.group_id} → {self.vk_item_group_id}"


class VariantMember(models.Model):
    """What one product's VK item was last given: its choices (titles), the VK variant ids and
    whether it is the main variant. Valid for `vk_item_id` only (an item made anew starts
    over)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="variant_members"
    )
    store_id = models.CharField(_("Evotor store"), max_length=64)
    product_id = models.CharField(_("Evotor product"), max_length=64)
    vk_item_id = models.BigIntegerField(_("VK item"))
    choices = models.JSONField(default=list, blank=True)
    variant_ids = models.JSONField(default=list, blank=True)
    is_main = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("variant of a VK item")
        verbose_name_plural = _("variants of VK items")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "store_id", "product_id"], name="sync_variantmember_one_per_product"
            )
        ]

    def __str__(self):
        return f"{self.product_id}: {self.choices}"
