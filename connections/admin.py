from django.contrib import admin

from connections.models import EvotorConnection, VkConnection


class ConnectionAdmin(admin.ModelAdmin):
    """Staff see the state of a merchant's connection, never the token itself."""

    list_filter = ["state"]
    search_fields = ["user__email"]
    readonly_fields = ["masked_token", "last_error", "last_checked_at", "created_at", "updated_at"]
    list_select_related = ["user"]

    @admin.display(description="token")
    def masked_token(self, obj):
        return obj.masked_token


@admin.register(EvotorConnection)
class EvotorConnectionAdmin(ConnectionAdmin):
    list_display = ["user", "evotor_user_id", "state", "masked_token", "last_checked_at"]
    fields = ["user", "evotor_user_id", "state", *ConnectionAdmin.readonly_fields]
    readonly_fields = ["user", *ConnectionAdmin.readonly_fields]


@admin.register(VkConnection)
class VkConnectionAdmin(ConnectionAdmin):
    list_display = ["user", "group_id", "group_name", "state", "masked_token", "last_checked_at"]
    fields = ["user", "group_id", "group_name", "state", *ConnectionAdmin.readonly_fields]
    readonly_fields = ["user", *ConnectionAdmin.readonly_fields]
