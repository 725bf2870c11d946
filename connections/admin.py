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
    list_display = ["user", "group_id", "group_name", "state", "token_kind", "last_checked_at"]
    list_filter = ["state", "token_kind"]
    # How the token came and when it lapses, never the access or refresh token itself.
    token_facts = ["token_kind", "token_expires_at", "token_verified_at", "vk_user_id"]
    fields = [
        "user",
        "group_id",
        "group_name",
        "state",
        *token_facts,
        *ConnectionAdmin.readonly_fields,
    ]
    readonly_fields = ["user", *token_facts, *ConnectionAdmin.readonly_fields]
