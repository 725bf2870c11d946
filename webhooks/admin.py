from django.contrib import admin

from webhooks.models import EvotorEvent


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
