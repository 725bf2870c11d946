"""Publishing in the Django admin: staff open a merchant's runs (with the items VK refused),
look up which VK item an Evotor product became, and see settings, alerts and photos.

Runs, run items, links and locks are written by the engine only: read-only here, so a click in
the admin can never desynchronise EvoSync from VK. Uploaded photos are private (served only to
their owner by the publishing pages, never under /media/): the admin names them, with their
size, and links nowhere.
"""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from sync.models import (
    AdoptionDecision,
    AlbumLink,
    Alert,
    ItemLink,
    ProductPhoto,
    PublishDue,
    RunItemStatus,
    SyncLock,
    SyncRun,
    SyncRunItem,
    SyncSettings,
    VariantGroupLink,
    VkProperty,
)
from sync.reasons import reason_text
from sync.templatetags.sync_tags import duration as format_duration

BY_USER = ("user", admin.RelatedOnlyFieldListFilter)


def photo_info(field_file, *, dimensions: bool = True) -> str:
    """A private photo named for staff, without a link: file name, size and (when asked: it
    opens the file) its pixel dimensions. "—" when there is none; "missing" when the file is."""
    if not field_file or not field_file.name:
        return "—"
    name = field_file.name.rsplit("/", 1)[-1]
    try:
        size = filesizeformat(field_file.size)
        if not dimensions:
            return f"{name} · {size}"
        return f"{name} · {size} · {field_file.width}×{field_file.height} px"
    except (OSError, ValueError):
        return _("%(name)s (file missing or unreadable)") % {"name": name}


class ReadOnlyMixin:
    """Staff look; only the engine writes."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ProblemItemInline(ReadOnlyMixin, admin.TabularInline):
    """The run's failed and skipped items (a big run's successes are on the items list)."""

    model = SyncRunItem
    verbose_name = _("item that failed or was skipped")
    verbose_name_plural = _("items that failed or were skipped")
    fields = ["product_name", "store_id", "product_id", "action", "status", "reason"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(status__in=[RunItemStatus.FAILED, RunItemStatus.SKIPPED])
            .order_by("id")
        )

    @admin.display(description=_("error"))
    def reason(self, obj: SyncRunItem) -> str:
        return reason_text(obj.error)


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "user",
        "trigger",
        "status",
        "created",
        "updated",
        "hidden",
        "deleted",
        "failed",
        "vk_requests",
        "duration_display",
        "created_at",
    ]
    list_display_links = ["id", "user"]
    list_filter = ["status", "trigger", "stop_cause", "dry_run", "created_at", BY_USER]
    search_fields = ["user__email", "error"]
    list_select_related = ["user"]
    show_full_result_count = False
    ordering = ["-created_at", "-id"]
    inlines = [ProblemItemInline]
    actions = ["retry_failed"]
    fieldsets = [
        (
            None,
            {"fields": ["user", "trigger", "status", "stop_cause", "error", "vk_error", "dry_run"]},
        ),
        (
            _("Progress and counts"),
            {
                "fields": [
                    "total",
                    *SyncRun.COUNTERS,
                    "vk_requests",
                    "vk_rate_refusals",
                    "all_items_link",
                ]
            },
        ),
        (
            _("Timing"),
            {"fields": ["created_at", "started_at", "finished_at", "duration_display"]},
        ),
        (_("Plan"), {"fields": ["plan_summary", "confirmed_removals"], "classes": ["collapse"]}),
    ]
    readonly_fields = ["duration_display", "all_items_link", "created_at"]

    @admin.display(description=_("duration"))
    def duration_display(self, obj: SyncRun) -> str:
        return format_duration(obj.duration)

    @admin.display(description=_("all items"))
    def all_items_link(self, obj: SyncRun) -> str:
        url = reverse("admin:sync_syncrunitem_changelist") + f"?run__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("All items of this run"))

    def has_change_permission(self, request, obj=None):
        # The change form shows the run read-only; the view permission is what staff need.
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Retrying queues a run: only for staff who may change publishing data.
        if not request.user.has_perm("sync.change_syncrun"):
            actions.pop("retry_failed", None)
        return actions

    @admin.action(description=_("Retry the failed items of the selected runs"))
    def retry_failed(self, request, queryset: QuerySet[SyncRun]):
        from sync.lifecycle import StartRefused, sync_run_retry_failed

        started = 0
        for run in queryset.filter(failed__gt=0).select_related("user"):
            try:
                sync_run_retry_failed(run=run)
            except StartRefused as refused:
                self.message_user(request, f"#{run.pk}: {refused.message}", messages.WARNING)
                continue
            started += 1
        self.message_user(
            request,
            ngettext("%(count)d retry queued.", "%(count)d retries queued.", started)
            % {"count": started},
            messages.SUCCESS if started else messages.WARNING,
        )


@admin.register(SyncRunItem)
class SyncRunItemAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["run", "product_name", "action", "status", "reason", "created_at"]
    list_filter = ["status", "action"]
    search_fields = ["product_name", "product_id", "=run__id", "run__user__email"]
    list_select_related = ["run"]
    show_full_result_count = False
    raw_id_fields = ["run", "link"]
    exclude = ["error"]
    readonly_fields = ["reason"]

    @admin.display(description=_("error"))
    def reason(self, obj: SyncRunItem) -> str:
        return reason_text(obj.error)


@admin.register(ItemLink)
class ItemLinkAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "product_name",
        "user",
        "sku",
        "vk_item_id",
        "state",
        "adopted",
        "error_count",
        "published_at",
    ]
    list_filter = ["state", "adopted", BY_USER]
    search_fields = ["sku", "=vk_item_id", "product_id", "product_name", "user__email"]
    list_select_related = ["user"]
    show_full_result_count = False
    exclude = ["photo_hash", "source_hash", "evotor_image", "last_error"]
    readonly_fields = ["last_error_text"]

    @admin.display(description=_("last error"))
    def last_error_text(self, obj: ItemLink) -> str:
        return reason_text(obj.last_error)


@admin.register(AlbumLink)
class AlbumLinkAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["title", "user", "store_id", "group_id", "vk_album_id", "created_at"]
    list_filter = [BY_USER]
    search_fields = ["title", "=vk_album_id", "group_id", "user__email"]
    list_select_related = ["user"]


@admin.register(VariantGroupLink)
class VariantGroupLinkAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Evotor modification groups grouped in VK (sync/publish/variants.py)."""

    list_display = ["group_id", "user", "store_id", "vk_item_group_id", "grouping", "updated_at"]
    list_filter = [BY_USER, "grouping"]
    search_fields = ["group_id", "=vk_item_group_id", "user__email"]
    list_select_related = ["user"]


@admin.register(VkProperty)
class VkPropertyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """VK properties EvoSync made or adopted; a blank VK id waits for its answer."""

    list_display = ["title", "user", "vk_property_id"]
    list_filter = [BY_USER]
    search_fields = ["title", "user__email"]
    list_select_related = ["user"]


@admin.register(SyncSettings)
class SyncSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "auto_sync",
        "vk_category_id",
        "price_markup_percent",
        "removal_policy",
        "removal_guard_percent",
        "first_published_at",
    ]
    list_filter = ["auto_sync", "removal_policy", "out_of_stock_policy", "price_rounding"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    readonly_fields = ["user", "default_photo_info", "first_published_at", "updated_at"]
    # The merchant chooses their default photo on their settings page; here it is only named.
    exclude = ["default_photo"]

    def has_add_permission(self, request):
        return False  # created for the merchant when they first need it

    @admin.display(description=_("default photo"))
    def default_photo_info(self, obj: SyncSettings) -> str:
        return photo_info(obj.default_photo)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["user", "cause", "created_at", "last_emailed_at", "resolved_at"]
    list_filter = ["cause", ("resolved_at", admin.EmptyFieldListFilter), BY_USER]
    search_fields = ["user__email", "message"]
    list_select_related = ["user"]
    readonly_fields = ["user", "cause", "message", "created_at", "last_emailed_at", "resolved_at"]
    actions = ["resolve"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Mark the selected alerts resolved"))
    def resolve(self, request, queryset: QuerySet[Alert]):
        count = queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())
        self.message_user(
            request,
            ngettext("%(count)d alert resolved.", "%(count)d alerts resolved.", count)
            % {"count": count},
        )


@admin.register(ProductPhoto)
class ProductPhotoAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["user", "entity_type", "entity_id", "store_id", "image_info", "uploaded_at"]
    list_filter = ["entity_type", BY_USER]
    search_fields = ["entity_id", "store_id", "user__email"]
    list_select_related = ["user"]
    exclude = ["image"]
    readonly_fields = ["image_details"]

    @admin.display(description=_("photo"))
    def image_info(self, obj: ProductPhoto) -> str:
        return photo_info(obj.image, dimensions=False)  # a list: no opening every image

    @admin.display(description=_("photo"))
    def image_details(self, obj: ProductPhoto) -> str:
        return photo_info(obj.image)


@admin.register(PublishDue)
class PublishDueAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """When each merchant's changes from Evotor are due to be published (sync/debounce.py)."""

    list_display = ["user", "first_change_at", "quiet_until", "whole", "task_sent_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]


@admin.register(SyncLock)
class SyncLockAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["user", "holder", "expires_at"]
    search_fields = ["user__email", "holder"]
    list_select_related = ["user"]


@admin.register(AdoptionDecision)
class AdoptionDecisionAdmin(admin.ModelAdmin):
    list_display = ["product_id", "user", "vk_item_id", "verdict", "decided_at"]
    list_filter = ["verdict"]
    search_fields = ["product_id", "user__email", "=vk_item_id"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


# The freshness list and the queue depth per lane (its own module: it reads two apps).
from sync import admin_freshness  # noqa: E402, F401
