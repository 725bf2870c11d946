"""Read-only admin lists of the cached catalog: staff look, Evotor is the source of truth."""

from django.contrib import admin

from catalog.models import (
    CachedGroup,
    CachedProduct,
    CachedStore,
    CatalogRefresh,
    DirtyProduct,
    SyncFilter,
)

BY_USER = ("user", admin.RelatedOnlyFieldListFilter)


class ReadOnlyAdmin(admin.ModelAdmin):
    list_select_related = ["user"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CachedStore)
class CachedStoreAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "user",
        "evotor_id",
        "is_accessible",
        "is_removed",
        "catalog_refreshed_at",
    ]
    list_filter = [BY_USER, "is_accessible", "is_removed"]
    search_fields = ["name", "evotor_id", "user__email"]


@admin.register(CachedGroup)
class CachedGroupAdmin(ReadOnlyAdmin):
    list_display = ["name", "user", "store", "evotor_id", "is_removed", "last_seen_at"]
    list_select_related = ["user", "store"]
    list_filter = [BY_USER, "is_removed"]
    search_fields = ["name", "evotor_id", "user__email"]
    exclude = ["content_hash"]


@admin.register(CachedProduct)
class CachedProductAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "user",
        "store",
        "price",
        "quantity",
        "allow_to_sell",
        "is_removed",
        "last_seen_at",
    ]
    list_select_related = ["user", "store"]
    list_filter = [BY_USER, "is_removed", "allow_to_sell", "type"]
    search_fields = ["name", "evotor_id", "article_number", "code", "user__email"]
    exclude = ["content_hash", "search_text"]


@admin.register(CatalogRefresh)
class CatalogRefreshAdmin(ReadOnlyAdmin):
    list_display = [
        "requested_at",
        "user",
        "status",
        "trigger",
        "stores",
        "stores_skipped",
        "products",
        "products_written",
        "products_removed",
    ]
    list_filter = [BY_USER, "status", "trigger"]
    search_fields = ["user__email", "error"]


@admin.register(SyncFilter)
class SyncFilterAdmin(ReadOnlyAdmin):
    """The store and group switches the merchant set on the catalog pages."""

    list_display = ["user", "entity_type", "entity_id", "parent_entity_id", "enabled", "updated_at"]
    list_filter = ["entity_type", "enabled", BY_USER]
    search_fields = ["entity_id", "parent_entity_id", "user__email"]


@admin.register(DirtyProduct)
class DirtyProductAdmin(ReadOnlyAdmin):
    """Products changed in Evotor and not yet published: the per-merchant backlog."""

    list_display = ["user", "store_evotor_id", "product_evotor_id", "changed_at"]
    list_filter = [BY_USER]
    search_fields = ["product_evotor_id", "user__email"]
