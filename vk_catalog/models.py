"""The merchant's VK Market as last read from VK: albums, items, and the refresh runs.

These tables are a cache: VK stays the source of truth, and `vk_catalog.services` rewrites
them from `market.getAlbums` / `market.get` (docs/contracts/vk-market-api.md §3, §3.1). Rows that vanish
from VK are kept and flagged `is_removed`, so a page (or the sync) can still name them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evosync.runs import LifecycleRun


def vk_item_url(owner_id: int, item_id: int) -> str:
    """An item's page in VK: the community's market with the item open. The shape of the `url`
    field VK gives for an item (market.get with extended=1; sandbox/vk/state.py copies it);
    a community's owner_id is negative."""
    return f"https://vk.com/market{owner_id}?w=product{owner_id}_{item_id}"


class VkCachedAlbum(models.Model):
    """One VK Market album ("подборка") of the merchant's community."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="vk_cached_albums",
        verbose_name=_("user"),
    )
    vk_id = models.BigIntegerField(_("VK album id"))
    owner_id = models.BigIntegerField(_("VK owner id"))
    title = models.CharField(_("title"), max_length=255)
    item_count = models.PositiveIntegerField(_("items"), default=0)
    is_main = models.BooleanField(_("main album"), default=False)
    is_hidden = models.BooleanField(_("hidden"), default=False)
    photo_url = models.URLField(_("cover"), max_length=1000, blank=True, default="")
    updated_time = models.DateTimeField(_("changed in VK"), null=True, blank=True)
    content_hash = models.CharField(max_length=64, editable=False)
    is_removed = models.BooleanField(_("removed in VK"), default=False)
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    raw = models.JSONField(_("VK data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last changed here"), auto_now=True)

    class Meta:
        verbose_name = _("cached VK album")
        verbose_name_plural = _("cached VK albums")
        ordering = ["-is_main", "title", "vk_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "vk_id"], name="vk_cached_album_user_vk_id"),
        ]
        indexes = [
            # The albums page: the user's live albums in display order.
            models.Index(fields=["user", "is_removed", "title"], name="vk_album_user_live_title"),
        ]

    def __str__(self):
        return self.title


class Availability(models.IntegerChoices):
    """`market_item.availability` (docs/contracts/vk-market-api.md §3.1)."""

    AVAILABLE = 0, _("Available")
    REMOVED = 1, _("Deleted")
    UNAVAILABLE = 2, _("Unavailable")


class VkCachedProduct(models.Model):
    """One VK Market item of the merchant's community."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="vk_cached_products",
        verbose_name=_("user"),
    )
    vk_id = models.BigIntegerField(_("VK item id"))
    owner_id = models.BigIntegerField(_("VK owner id"))
    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True, default="")
    # Roubles: VK takes roubles and answers in kopecks; the client converts (§3.1).
    price = models.DecimalField(_("price"), max_digits=14, decimal_places=2)
    old_price = models.DecimalField(
        _("old price"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    availability = models.PositiveSmallIntegerField(
        _("availability"), choices=Availability.choices, default=Availability.AVAILABLE
    )
    sku = models.CharField(_("SKU"), max_length=64, blank=True, default="")
    # VK album ids as VK lists them (also the albums we never cached); the M2M below is what
    # pages join on, so an album's items come back in one query.
    album_ids = models.JSONField(_("VK album ids"), default=list, blank=True)
    albums = models.ManyToManyField(
        VkCachedAlbum,
        through="VkCachedProductAlbum",
        related_name="products",
        verbose_name=_("albums"),
        blank=True,
    )
    photo_ids = models.JSONField(_("VK photo ids"), default=list, blank=True)
    main_photo_id = models.BigIntegerField(_("main photo id"), null=True, blank=True)
    thumb_url = models.URLField(_("thumbnail"), max_length=1000, blank=True, default="")
    category_id = models.BigIntegerField(_("VK category id"), null=True, blank=True)
    date = models.DateTimeField(_("created in VK"), null=True, blank=True)
    content_hash = models.CharField(max_length=64, editable=False)
    is_removed = models.BooleanField(_("removed in VK"), default=False)
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    # Variants of one product share VK's group id; one of them is the main one.
    variants_grouping_id = models.BigIntegerField(_("VK variant group"), null=True, blank=True)
    is_main_variant = models.BooleanField(_("main variant"), default=True)
    # The stock count VK shows buyers ("осталось 3"); None when the item has none.
    stock_amount = models.IntegerField(_("stock shown in VK"), null=True, blank=True)
    raw = models.JSONField(_("VK data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last changed here"), auto_now=True)

    class Meta:
        verbose_name = _("cached VK item")
        verbose_name_plural = _("cached VK items")
        ordering = ["title", "vk_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "vk_id"], name="vk_cached_product_user_vk_id"),
        ]
        indexes = [
            # The "all items" page and the sync's look-ups by article number.
            models.Index(fields=["user", "is_removed", "title"], name="vk_product_user_live_title"),
            models.Index(fields=["user", "sku"], name="vk_product_user_sku"),
        ]

    def __str__(self):
        return self.title

    @property
    def has_discount(self) -> bool:
        return self.old_price is not None and self.old_price > self.price

    @property
    def vk_url(self) -> str:
        return vk_item_url(self.owner_id, self.vk_id)


class VkCachedProductAlbum(models.Model):
    """An item's membership of an album, rebuilt from the item's `albums_ids` at each refresh."""

    product = models.ForeignKey(
        VkCachedProduct, on_delete=models.CASCADE, related_name="album_links"
    )
    album = models.ForeignKey(VkCachedAlbum, on_delete=models.CASCADE, related_name="item_links")

    class Meta:
        verbose_name = _("item in album")
        verbose_name_plural = _("items in albums")
        constraints = [
            models.UniqueConstraint(fields=["album", "product"], name="vk_product_album_unique"),
        ]

    def __str__(self):
        return f"{self.product_id} → {self.album_id}"


class RefreshStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    OK = "ok", _("Done")
    FAILED = "failed", _("Failed")


class RefreshTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("Schedule")
    MANUAL = "manual", _("Button on the site")
    COMMAND = "command", _("Command")


class VkCatalogRefresh(LifecycleRun):
    """One refresh of a merchant's VK catalog: what the merchant and the admin see of it.

    Queued, running, finished and stale like every run (`evosync.runs.LifecycleRun`)."""

    TASK = "vk_catalog.tasks.refresh_vk_catalog_for_user"
    INTERRUPTED_MESSAGE = _("The refresh was interrupted before it finished.")
    NEVER_STARTED_MESSAGE = _("The refresh was queued but never started; start it again.")
    QUEUE_DOWN_MESSAGE = _(
        "The task queue is not answering, so the refresh could not start. Nothing was "
        "changed; try again in a few minutes."
    )

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="vk_catalog_refreshes",
        verbose_name=_("user"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=RefreshStatus.choices, default=RefreshStatus.QUEUED
    )
    trigger = models.CharField(
        _("started by"),
        max_length=16,
        choices=RefreshTrigger.choices,
        default=RefreshTrigger.SCHEDULE,
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    owner_id = models.BigIntegerField(_("VK owner id"), null=True, blank=True)
    albums_seen = models.PositiveIntegerField(_("albums in VK"), default=0)
    items_seen = models.PositiveIntegerField(_("items in VK"), default=0)
    created_count = models.PositiveIntegerField(_("new"), default=0)
    updated_count = models.PositiveIntegerField(_("changed"), default=0)
    removed_count = models.PositiveIntegerField(_("removed"), default=0)
    requests_made = models.PositiveIntegerField(_("VK requests"), default=0)
    error_code = models.IntegerField(_("VK error code"), null=True, blank=True)

    class Meta:
        verbose_name = _("VK catalog refresh")
        verbose_name_plural = _("VK catalog refreshes")
        ordering = ["-requested_at", "-pk"]
        indexes = [
            models.Index(fields=["user", "-requested_at"], name="vk_refresh_user_recent"),
            models.Index(fields=["user", "status"], name="vk_refresh_user_status"),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_status_display()} · {self.requested_at:%Y-%m-%d %H:%M}"

    def holder_alive(self) -> bool | None:
        from vk_catalog.locking import refresh_lock_held

        return refresh_lock_held(self.user_id)

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None
