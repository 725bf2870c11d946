from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from evosync import views

admin.site.site_header = _("EvoSync administration")
admin.site.site_title = _("EvoSync")
admin.site.index_title = _("Staff tools")

urlpatterns = [
    path("", views.home, name="home"),
    path("health", views.health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("connections/", include("connections.urls")),
    path("catalog/", include("catalog.urls")),
    path("vk-catalog/", include("vk_catalog.urls")),
    path("sync/", include("sync.urls")),
    # Evotor calls these paths at the site root (docs/contracts/evotor-api.md §7).
    path("", include("webhooks.urls")),
]

handler403 = "evosync.views.permission_denied"
handler404 = "evosync.views.page_not_found"
handler500 = "evosync.views.server_error"

# No `media/` route, not even with DEBUG: merchants' uploads (product and default photos) are
# served only by views that check the owner (sync.views.photo_image, default_photo_image).
