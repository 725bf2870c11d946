from django.contrib import admin

from webhooks.models import EventsCursor, EvotorChange, EvotorEvent


@admin.register(EvotorEvent)
class EvotorEventAdmin(admin.ModelAdmin):
    """A read-only log of what Evotor told us about installs and subscriptions."""

    list_display = ["received_at", "kind", "event_type", "evotor_user_id", "outcome"]
    list_filter = ["kind", "outcome", "event_type"]
    search_fields = ["evotor_user_id", "event_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EvotorChange)
class EvotorChangeAdmin(admin.ModelAdmin):
    """A read-only log of the change events Evotor pushed or the poller pulled (issue 10)."""

    list_display = [
        "received_at",
        "source",
        "event_type",
        "action",
        "entity_id",
        "user",
        "outcome",
        "processed_at",
    ]
    list_filter = ["source", "outcome", "event_type"]
    list_select_related = ["user"]
    search_fields = ["delivery_id", "event_id", "entity_id", "store_evotor_id", "evotor_user_id"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EventsCursor)
class EventsCursorAdmin(admin.ModelAdmin):
    """Where the events-API poller stopped; read-only (a wrong edit would replay or lose)."""

    list_display = ["since_ms", "events_read", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
