"""Read-only admin lists of the VK catalog cache: staff look, the refresh writes."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from vk_catalog.models import VkCachedAlbum, VkCachedProduct, VkCatalogRefresh


class ReadOnlyAdmin(admin.ModelAdmin):
    """The cache mirrors VK: an edit here would be overwritten by the next refresh."""

    list_select_related = ["user"]
    # Counting a merchant's 10,000 items on every page view is wasted work.
    show_full_result_count = False
    list_per_page = 100

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]


@admin.register(VkCachedAlbum)
class VkCachedAlbumAdmin(ReadOnlyAdmin):
    list_display = [
        "title",
        "user",
        "vk_id",
        "owner_id",
        "item_count",
        "is_main",
        "is_hidden",
        "is_removed",
    ]
    list_filter = ["is_removed", "is_main", "is_hidden", ("user", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "=vk_id", "user__email"]


@admin.register(VkCachedProduct)
class VkCachedProductAdmin(ReadOnlyAdmin):
    list_display = ["title", "user", "vk_id", "sku", "price", "availability", "is_removed"]
    list_filter = ["is_removed", "availability", ("user", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "sku", "=vk_id", "user__email"]
    exclude = ["albums"]


@admin.register(VkCatalogRefresh)
class VkCatalogRefreshAdmin(ReadOnlyAdmin):
    list_display = [
        "user",
        "status",
        "trigger",
        "requested_at",
        "duration_display",
        "items_seen",
        "created_count",
        "updated_count",
        "removed_count",
        "requests_made",
        "error_code",
    ]
    list_filter = ["status", "trigger", ("user", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__email", "error"]

    @admin.display(description=_("duration"))
    def duration_display(self, obj):
        duration = obj.duration
        return "—" if duration is None else f"{duration.total_seconds():.1f} s"
