"""The merchant's publishing settings: how prices are rounded, what happens to removed and
out-of-stock products, the VK category and the schedule."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PriceRounding(models.TextChoices):
    NONE = "none", _("No rounding")
    ROUBLE = "rouble", _("To whole roubles")
    TEN = "ten", _("Up to 10 roubles")
    NINETY_NINE = "ninety_nine", _("Ending in ,99")


class RemovalPolicy(models.TextChoices):
    HIDE = "hide", _("Hide in VK")
    DELETE = "delete", _("Delete from VK")


class OutOfStockPolicy(models.TextChoices):
    HIDE = "hide", _("Hide in VK")
    KEEP = "keep", _("Keep shown")


class FieldOwner(models.TextChoices):
    """Who has the last word on an item field once the item is in VK (sync/plan/ownership.py)."""

    EVOTOR = "evotor", _("Evotor: EvoSync keeps it as in Evotor")
    VK = "vk", _("VK: set once, then edited in VK only")


def _owner_field(label):
    return models.CharField(
        label, max_length=8, choices=FieldOwner.choices, default=FieldOwner.EVOTOR
    )


class SyncSettings(models.Model):
    """How a merchant's Evotor products become VK items (docs/contracts/product.md, default rules).

    Created on demand by `sync.plan.inputs.sync_settings_get(user)`. Nothing is published
    automatically until the first publish went through the preview (`first_published_at`).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sync_settings"
    )
    auto_sync = models.BooleanField(_("publish changes automatically"), default=True)
    vk_category_id = models.PositiveIntegerField(_("VK category"), null=True, blank=True)
    price_markup_percent = models.DecimalField(
        _("price markup, %"), max_digits=6, decimal_places=2, default=0
    )
    price_rounding = models.CharField(
        _("price rounding"),
        max_length=16,
        choices=PriceRounding.choices,
        default=PriceRounding.NONE,
    )
    old_price_percent = models.DecimalField(
        _("old price higher by, %"),
        max_digits=6,
        decimal_places=2,
        default=0,
        help_text=_("0 shows no old price; 20 shows a crossed-out price higher by 20 %."),
    )
    removal_policy = models.CharField(
        _("products removed at the till or filtered out"),
        max_length=8,
        choices=RemovalPolicy.choices,
        default=RemovalPolicy.HIDE,
    )
    out_of_stock_policy = models.CharField(
        _("products out of stock"),
        max_length=8,
        choices=OutOfStockPolicy.choices,
        default=OutOfStockPolicy.HIDE,
    )
    albums_from_groups = models.BooleanField(_("make VK albums from Evotor groups"), default=True)
    default_photo = models.ImageField(_("default photo"), upload_to="default_photos/", blank=True)
    removal_guard_percent = models.PositiveSmallIntegerField(
        _("hold a run that removes more than, %"), default=20
    )
    # Field ownership: price, availability and stock are always Evotor's.
    name_owner = _owner_field(_("name is owned by"))
    description_owner = _owner_field(_("description is owned by"))
    photos_owner = _owner_field(_("photos are owned by"))
    albums_owner = _owner_field(_("albums are owned by"))

    # Stock in VK (`stock_amount`, sync/plan/stock.py): off by default; floors are per Evotor
    # store id ({store id: N}: fewer than N left shows 0).
    publish_stock = models.BooleanField(_("publish stock counts to VK"), default=False)
    stock_floors = models.JSONField(_("stock floors per store"), default=dict, blank=True)
    first_published_at = models.DateTimeField(_("first published"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sync settings")
        verbose_name_plural = _("sync settings")

    def __str__(self):
        return f"{self._meta.verbose_name} · {self.user}"

    @property
    def vk_owned_fields(self) -> frozenset[str]:
        """The item fields VK owns (sync.plan.ownership.OWNABLE_FIELDS names)."""
        owners = {
            "name": self.name_owner,
            "description": self.description_owner,
            "photo": self.photos_owner,
            "albums": self.albums_owner,
        }
        return frozenset(key for key, owner in owners.items() if owner == FieldOwner.VK)
