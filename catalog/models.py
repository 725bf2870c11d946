"""The merchant's Evotor catalog as last read from the cloud (docs/contracts/evotor-api.md §5).

Every row belongs to a user and is keyed by the Evotor ids: (user, evotor_id) for a store,
(user, store_evotor_id, evotor_id) for groups and products, because Evotor only promises a
product id to be unique within its store (§5.2). Group parents are kept as Evotor ids
(`parent_evotor_id`), not foreign keys: the tree of a store is one query, assembled in Python
(`catalog.selectors.group_tree`), and a refresh never has to resolve ids before writing.

Rows that vanish from Evotor are kept with `is_removed` set, so publishing can hide them in VK.
`content_hash` is a digest of Evotor's payload: a refresh rewrites a row only when it changed.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evosync.runs import LifecycleRun


class CachedStore(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cached_stores"
    )
    evotor_id = models.CharField(_("Evotor id"), max_length=64)
    name = models.CharField(_("name"), max_length=255)
    address = models.TextField(_("address"), blank=True, default="")
    evotor_updated_at = models.DateTimeField(_("changed in Evotor"), null=True, blank=True)
    # False while Evotor answers 402/403 for this store (app not installed or not paid on its
    # devices): the store is skipped quietly and its cached rows are left as they were.
    is_accessible = models.BooleanField(_("readable"), default=True)
    is_removed = models.BooleanField(_("removed in Evotor"), default=False)
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"))
    last_seen_at = models.DateTimeField(_("last seen"))
    # When the store's groups and products were last read completely.
    catalog_refreshed_at = models.DateTimeField(_("catalog read at"), null=True, blank=True)
    # The newest Evotor `updated_at` an incremental (`since`) read has seen in this store: the
    # next read asks from there, by Evotor's clock, so our clock's drift cannot skip a change.
    changes_read_through = models.DateTimeField(_("changes read through"), null=True, blank=True)

    class Meta:
        verbose_name = _("Evotor store")
        verbose_name_plural = _("Evotor stores")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "evotor_id"], name="catalog_store_unique"),
        ]

    def __str__(self):
        return self.name or self.evotor_id


class CachedGroup(models.Model):
    """A product group, or a modification group (one that has `attributes` in Evotor)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cached_groups"
    )
    store = models.ForeignKey(CachedStore, on_delete=models.CASCADE, related_name="groups")
    store_evotor_id = models.CharField(_("Evotor store id"), max_length=64)
    evotor_id = models.CharField(_("Evotor id"), max_length=64)
    parent_evotor_id = models.CharField(
        _("Evotor id of the parent group"), max_length=64, blank=True, default=""
    )
    name = models.CharField(_("name"), max_length=255)
    evotor_updated_at = models.DateTimeField(_("changed in Evotor"), null=True, blank=True)
    content_hash = models.CharField(_("content hash"), max_length=64)
    raw = models.JSONField(_("Evotor payload"), default=dict)
    is_removed = models.BooleanField(_("removed in Evotor"), default=False)
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"))
    # Written together with the row: when its content last changed or it reappeared. An
    # unchanged row is not rewritten; the store's `catalog_refreshed_at` says it is still there.
    last_seen_at = models.DateTimeField(_("last changed"))

    class Meta:
        verbose_name = _("Evotor product group")
        verbose_name_plural = _("Evotor product groups")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "store_evotor_id", "evotor_id"], name="catalog_group_unique"
            ),
        ]
        indexes = [models.Index(fields=["store", "is_removed"], name="catalog_group_store")]

    def __str__(self):
        return self.name


class CachedProduct(models.Model):
    """A product (or modification) with every field publishing to VK needs (docs/contracts/evotor-api.md §5.2)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cached_products"
    )
    store = models.ForeignKey(CachedStore, on_delete=models.CASCADE, related_name="products")
    store_evotor_id = models.CharField(_("Evotor store id"), max_length=64)
    evotor_id = models.CharField(_("Evotor id"), max_length=64)
    parent_evotor_id = models.CharField(
        _("Evotor id of the group"), max_length=64, blank=True, default=""
    )
    name = models.CharField(_("name"), max_length=255)
    type = models.CharField(_("type"), max_length=32, blank=True, default="")
    price = models.DecimalField(_("price"), max_digits=16, decimal_places=2, default=0)
    cost_price = models.DecimalField(
        _("cost price"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    # Only present when the app may read stock; Evotor allows 7 integer and 3 fraction digits.
    quantity = models.DecimalField(
        _("quantity"), max_digits=16, decimal_places=3, null=True, blank=True
    )
    measure_name = models.CharField(_("unit"), max_length=32, blank=True, default="")
    allow_to_sell = models.BooleanField(_("on sale"), default=True)
    description = models.TextField(_("description"), blank=True, default="")
    article_number = models.CharField(_("article"), max_length=64, blank=True, default="")
    code = models.CharField(_("code"), max_length=64, blank=True, default="")
    barcodes = models.JSONField(_("barcodes"), default=list, blank=True)
    tax = models.CharField(_("VAT"), max_length=32, blank=True, default="")
    evotor_updated_at = models.DateTimeField(_("changed in Evotor"), null=True, blank=True)
    content_hash = models.CharField(_("content hash"), max_length=64)
    raw = models.JSONField(_("Evotor payload"), default=dict)
    # Lower-cased name, barcodes, article and code: SQLite's LIKE folds ASCII letters only, so
    # the product search compares against this column instead of `name`.
    search_text = models.TextField(_("search text"), blank=True, default="")
    is_removed = models.BooleanField(_("removed in Evotor"), default=False)
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    # When Evotor last said the product's pictures changed (`ProductImage` events, §7.5). The
    # product's own payload does not change when a picture is replaced, so publishing reads
    # this to know it must look at the image list again.
    images_changed_at = models.DateTimeField(_("pictures changed"), null=True, blank=True)
    first_seen_at = models.DateTimeField(_("first seen"))
    last_seen_at = models.DateTimeField(_("last changed"))

    class Meta:
        verbose_name = _("Evotor product")
        verbose_name_plural = _("Evotor products")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "store_evotor_id", "evotor_id"], name="catalog_product_unique"
            ),
        ]
        indexes = [
            # The products page: one store, not removed, in name order (optionally one group).
            models.Index(fields=["store", "is_removed", "name"], name="catalog_product_list"),
            models.Index(
                fields=["store", "parent_evotor_id", "is_removed"], name="catalog_product_group"
            ),
            # The selector publishing uses: a user's products by store id.
            models.Index(
                fields=["user", "store_evotor_id", "is_removed"], name="catalog_product_user"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_available(self) -> bool:
        """Whether VK may show it as in stock: on sale and, where stock is known, some left."""
        return self.allow_to_sell and (self.quantity is None or self.quantity > 0)


class DirtyProduct(models.Model):
    """A product that changed in Evotor and has not been published since (issue 10 item 2).

    One row per (merchant, store, product), upserted by every change event or incremental
    read, so a burst of changes to one product is one row; the publisher deletes the rows it
    has sent. Kept in the database, not the cache: a worker lost mid-way loses no change.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dirty_products"
    )
    store_evotor_id = models.CharField(_("Evotor store id"), max_length=64)
    product_evotor_id = models.CharField(_("Evotor product id"), max_length=64)
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("changed product")
        verbose_name_plural = _("changed products")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "store_evotor_id", "product_evotor_id"],
                name="catalog_dirty_unique",
            ),
        ]

    def __str__(self):
        return f"{self.store_evotor_id}/{self.product_evotor_id}"


class CatalogFreshness(models.Model):
    """When the last change from Evotor arrived for a merchant (shown on the dashboard)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="catalog_freshness"
    )
    last_change_at = models.DateTimeField(_("last change arrived"))
    changes = models.PositiveIntegerField(_("changes received"), default=0)

    class Meta:
        verbose_name = _("catalog freshness")
        verbose_name_plural = _("catalog freshness")

    def __str__(self):
        return f"{self.user} · {self.last_change_at:%Y-%m-%d %H:%M:%S}"


class RefreshStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    OK = "ok", _("Done")
    FAILED = "failed", _("Failed")


class RefreshTrigger(models.TextChoices):
    AUTO = "auto", _("Automatically")
    MANUAL = "manual", _("Button on the site")
    COMMAND = "command", _("Command")


class CatalogRefresh(LifecycleRun):
    """One run of the catalog refresh for a user: what the merchant and the admin see.

    Queued, running, finished and stale like every run (`evosync.runs.LifecycleRun`)."""

    TASK = "catalog.tasks.refresh_catalog_for_user"
    INTERRUPTED_MESSAGE = _("The refresh was interrupted before it finished.")
    NEVER_STARTED_MESSAGE = _("The refresh was queued but never started; start it again.")
    QUEUE_DOWN_MESSAGE = _(
        "The task queue is not answering, so the refresh could not start. Nothing was "
        "changed; try again in a few minutes."
    )

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="catalog_refreshes"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=RefreshStatus.choices, default=RefreshStatus.QUEUED
    )
    trigger = models.CharField(
        _("started by"),
        max_length=16,
        choices=RefreshTrigger.choices,
        default=RefreshTrigger.AUTO,
    )
    requested_at = models.DateTimeField(_("requested at"))
    stores = models.PositiveIntegerField(_("stores read"), default=0)
    stores_skipped = models.PositiveIntegerField(_("stores skipped"), default=0)
    groups = models.PositiveIntegerField(_("groups read"), default=0)
    products = models.PositiveIntegerField(_("products read"), default=0)
    products_written = models.PositiveIntegerField(_("products new or changed"), default=0)
    products_removed = models.PositiveIntegerField(_("products removed"), default=0)

    class Meta:
        verbose_name = _("catalog refresh")
        verbose_name_plural = _("catalog refreshes")
        ordering = ["-pk"]
        indexes = [models.Index(fields=["user", "status"], name="catalog_refresh_user")]

    def __str__(self):
        return f"{self.user} · {self.get_status_display()} · {self.requested_at:%Y-%m-%d %H:%M}"

    def holder_alive(self) -> bool | None:
        from catalog.services import lock_key
        from evosync.locks import cache_lock_held

        return cache_lock_held(lock_key(self.user_id))

    @property
    def finished_just_now(self) -> bool:
        return bool(self.finished_at) and timezone.now() - self.finished_at < timedelta(minutes=1)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class SyncFilter(models.Model):
    """The merchant's choice of what goes to VK, by Evotor ids (so it outlives cache rows).

    Semantics (computed by `catalog.filters.selected_products`):
    - a store is off until the merchant switches it on (no row = off);
    - in a store that is on, every group is included unless switched off (no row = on);
    - a group that is off excludes its whole subtree, whatever its subgroups say;
    - products outside any group follow their store.
    """

    class EntityType(models.TextChoices):
        STORE = "store", _("Store")
        GROUP = "group", _("Product group")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sync_filters"
    )
    entity_type = models.CharField(_("kind"), max_length=16, choices=EntityType.choices)
    entity_id = models.CharField(_("Evotor id"), max_length=64)
    # The store's Evotor id for a group ("" for a store): group ids are unique per store only.
    parent_entity_id = models.CharField(_("Evotor store id"), max_length=64, blank=True, default="")
    enabled = models.BooleanField(_("published"), default=False)
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        # Created by the sync app and moved here with the store and group pages that write it;
        # the table keeps its name (and its rows).
        db_table = "sync_syncfilter"
        verbose_name = _("sync filter")
        verbose_name_plural = _("sync filters")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "entity_type", "parent_entity_id", "entity_id"],
                name="sync_filter_unique",
            ),
        ]

    def __str__(self):
        state = _("on") if self.enabled else _("off")
        return f"{self.get_entity_type_display()} {self.entity_id}: {state}"
