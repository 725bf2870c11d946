from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from evosync.runs import LifecycleRun

# --- Publishing (issue 5): settings, links, runs, alerts ------------------------------------------
# Appended by the publishing ENGINE (sync/plan/, sync/publish/). Every row belongs to one
# merchant and goes with them (CASCADE).


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
    first_published_at = models.DateTimeField(_("first published"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sync settings")
        verbose_name_plural = _("sync settings")

    def __str__(self):
        return f"{self._meta.verbose_name} · {self.user}"


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
        indexes = [models.Index(fields=["user", "state"], name="sync_itemlink_user_state")]

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


class PhotoEntity(models.TextChoices):
    PRODUCT = "product", _("Product")
    GROUP = "group", _("Group")


class ProductPhoto(models.Model):
    """A photo the merchant uploaded for a product or a group (used when Evotor has none)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="product_photos"
    )
    store_id = models.CharField(_("Evotor store"), max_length=64)
    entity_type = models.CharField(_("for"), max_length=8, choices=PhotoEntity.choices)
    entity_id = models.CharField(_("Evotor id"), max_length=64)
    image = models.ImageField(_("photo"), upload_to="product_photos/")
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now=True)

    class Meta:
        verbose_name = _("uploaded photo")
        verbose_name_plural = _("uploaded photos")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "store_id", "entity_type", "entity_id"],
                name="sync_productphoto_one_per_entity",
            )
        ]

    def __str__(self):
        return f"{self.entity_type} {self.entity_id}"


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("On schedule")
    MANUAL = "manual", _("By hand")
    EVOTOR_CHANGE = "evotor_change", _("Change in Evotor")
    RETRY = "retry", _("Retry of failed items")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    PLANNING = "planning", _("Planning")
    RUNNING = "running", _("Publishing")
    SUCCEEDED = "succeeded", _("Done")
    PARTIAL = "partial", _("Done with problems")
    FAILED = "failed", _("Failed")
    HELD = "held", _("Waiting for confirmation")
    STOPPED = "stopped", _("Stopped")


class StopCause(models.TextChoices):
    NONE = "", _("—")
    TOKEN_REVOKED = "token_revoked", _("VK token revoked")
    MARKET_OFF = "market_off", _("Market is off in the community")
    CAPTCHA = "captcha", _("VK asked for a captcha")
    REMOVAL_GUARD = "removal_guard", _("Too many items would be removed")
    EVOTOR_BROKEN = "evotor_broken", _("Evotor connection broken")


class SyncRun(LifecycleRun):
    """One publishing run: what triggered it, how it ended, what it did (live `done`/`total`).

    Queued, running, finished and stale like every run (`evosync.runs.LifecycleRun`)."""

    ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.PLANNING, RunStatus.RUNNING)
    # What a run counts as it goes (sync/publish/records.py keeps them up to date).
    COUNTERS = (
        "done",
        "created",
        "updated",
        "hidden",
        "restored",
        "deleted",
        "adopted",
        "failed",
        "skipped",
        "albums_created",
    )
    QUEUED_AT = "created_at"
    TASK = "sync.tasks.sync_user"
    INTERRUPTED_MESSAGE = _(
        "The run was interrupted (the worker stopped). The next run carried on where it "
        "left off; nothing was published twice."
    )
    NEVER_STARTED_MESSAGE = _("The run was queued but never started; start a new one.")
    QUEUE_DOWN_MESSAGE = _(
        "The task queue is not answering, so the run could not start. Nothing was published; "
        "try again in a few minutes."
    )

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sync_runs"
    )
    trigger = models.CharField(
        _("trigger"), max_length=16, choices=RunTrigger.choices, default=RunTrigger.SCHEDULE
    )
    status = models.CharField(
        _("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    dry_run = models.BooleanField(_("preview only"), default=False)
    # How many hides and deletes the merchant confirmed for this run (the removal guard lets a
    # plan through that removes no more; 0: none confirmed).
    confirmed_removals = models.PositiveIntegerField(_("removals confirmed"), default=0)
    total = models.PositiveIntegerField(_("to apply"), default=0)
    done = models.PositiveIntegerField(_("applied"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    hidden = models.PositiveIntegerField(_("hidden"), default=0)
    restored = models.PositiveIntegerField(_("restored"), default=0)
    deleted = models.PositiveIntegerField(_("deleted"), default=0)
    adopted = models.PositiveIntegerField(_("adopted"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    albums_created = models.PositiveIntegerField(_("albums created"), default=0)
    vk_requests = models.PositiveIntegerField(_("VK requests"), default=0)
    # Requests VK refused with error 6 "Too many requests per second" (each was retried):
    # the shared rate limiter should keep this at 0 (issue 11).
    vk_rate_refusals = models.PositiveIntegerField(_("VK rate-limit refusals"), default=0)
    # What VK said when it stopped the run (code, method, message; tokens masked), for staff:
    # `error` says it in the merchant's words.
    vk_error = models.CharField(_("VK error"), max_length=500, blank=True, default="")
    stop_cause = models.CharField(
        _("stop cause"), max_length=16, choices=StopCause.choices, blank=True, default=""
    )
    plan_summary = models.JSONField(_("plan"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        indexes = [models.Index(fields=["user", "-created_at"], name="sync_run_user_created")]
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"#{self.pk} {self.get_status_display()}"

    @property
    def duration(self):
        """How long the run took (or has taken so far), as a timedelta; None before it starts."""
        from django.utils import timezone

        if not self.started_at:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

    def task_args(self) -> tuple:
        return (self.user_id, self.trigger, self.pk)

    def holder_alive(self) -> bool | None:
        """A run shown planning or publishing is alive while its merchant's lock is held."""
        from sync.locks import sync_lock_held

        return sync_lock_held(self.user_id)

    @property
    def progress_percent(self) -> int:
        if not self.total:
            return 100 if self.finished_at else 0
        return min(100, round(100 * self.done / self.total))


class RunAction(models.TextChoices):
    CREATE = "create", _("Create")
    UPDATE = "update", _("Update")
    HIDE = "hide", _("Hide")
    RESTORE = "restore", _("Show again")
    DELETE = "delete", _("Delete")
    ADOPT = "adopt", _("Adopt existing VK item")


class RunItemStatus(models.TextChoices):
    OK = "ok", _("Done")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class SyncRunItem(models.Model):
    """What a run did to one product (one row per item; failed and skipped always recorded)."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="items")
    link = models.ForeignKey(
        ItemLink, on_delete=models.SET_NULL, null=True, blank=True, related_name="run_items"
    )
    store_id = models.CharField(_("Evotor store"), max_length=64)
    product_id = models.CharField(_("Evotor product"), max_length=64)
    product_name = models.CharField(_("product"), max_length=255, blank=True, default="")
    action = models.CharField(_("action"), max_length=8, choices=RunAction.choices)
    status = models.CharField(_("result"), max_length=8, choices=RunItemStatus.choices)
    error = models.TextField(_("error"), blank=True, default="")
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("sync run item")
        verbose_name_plural = _("sync run items")
        indexes = [models.Index(fields=["run", "status"], name="sync_runitem_run_status")]
        ordering = ["id"]

    def __str__(self):
        return f"{self.action} {self.product_name or self.product_id}: {self.status}"


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


class SyncLock(models.Model):
    """Who is publishing for a merchant right now (sync/locks.py): one row per merchant.

    A table of its own, not a SyncSettings column, so saving the settings form never clobbers it.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sync_lock"
    )
    holder = models.CharField(max_length=200, blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sync lock")
        verbose_name_plural = _("sync locks")

    def __str__(self):
        return f"{self.user}: {self.holder or '—'}"


class AdoptionVerdict(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed: the same product")
    REJECTED = "rejected", _("Rejected: a different product")


class AdoptionDecision(models.Model):
    """The merchant's answer about a VK item the planner was not sure is this product
    (sync.plan.adoption: a weak match waits here before the first publish). Confirmed: the
    item is adopted; rejected: the product gets a new VK item and this one is left alone. An
    answer holds for that VK item only: a different candidate is asked about again."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="adoption_decisions"
    )
    store_id = models.CharField(_("Evotor store"), max_length=64)
    product_id = models.CharField(_("Evotor product"), max_length=64)
    vk_item_id = models.BigIntegerField(_("VK item"))
    verdict = models.CharField(_("answer"), max_length=16, choices=AdoptionVerdict.choices)
    decided_at = models.DateTimeField(_("answered"), auto_now=True)

    class Meta:
        verbose_name = _("adoption answer")
        verbose_name_plural = _("adoption answers")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "store_id", "product_id"], name="sync_adoption_one_per_product"
            )
        ]

    def __str__(self):
        return f"{self.product_id} → {self.vk_item_id}: {self.verdict}"
