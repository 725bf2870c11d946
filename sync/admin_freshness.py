"""The admin's freshness list (issue 10 item 5): per merchant, when the last change arrived
from Evotor, when it reached VK and the lag between, with each task lane's queue depth above.

Registered here rather than by the catalog app, which holds the model: the publishing side of
the lag is this app's (`sync.freshness`).
"""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import CatalogFreshness
from evosync.queues import lane_depths
from sync.freshness import freshness_annotate


def _duration(delta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


@admin.register(CatalogFreshness)
class FreshnessAdmin(admin.ModelAdmin):
    list_display = ["user", "last_change_at", "reached_vk", "lag", "waiting", "changes"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    ordering = ["-last_change_at"]
    show_full_result_count = False
    change_list_template = "sync/admin/freshness_change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return freshness_annotate(super().get_queryset(request))

    @admin.display(description=_("reached VK"), ordering="reached_vk_at")
    def reached_vk(self, obj):
        return obj.reached_vk_at or _("not yet")

    @admin.display(description=_("lag"))
    def lag(self, obj) -> str:
        text = _duration((obj.reached_vk_at or timezone.now()) - obj.last_change_at)
        return text if obj.reached_vk_at else _("%(lag)s and counting") % {"lag": text}

    @admin.display(description=_("products waiting"), ordering="changes_waiting")
    def waiting(self, obj) -> int:
        return obj.changes_waiting

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "lanes": lane_depths()}
        return super().changelist_view(request, extra_context=extra_context)
