from django.urls import path
from django.views.generic import RedirectView

from webhooks import views

app_name = "webhooks"

# Included at the site root: Evotor calls the paths configured in its developer portal
# (docs/contracts/evotor-api.md §7), and the JSON endpoints are documented at /docs and /openapi.json.
urlpatterns = [
    path("user/create", views.user_create, name="user_create"),
    path("user/verify", views.user_verify, name="user_verify"),
    path("user/token", views.user_token, name="user_token"),
    path("installation/event", views.installation_event, name="installation_event"),
    path("subscription/event", views.subscription_event, name="subscription_event"),
    path("evotor/events", views.evotor_push, name="evotor_push"),
    path(
        "inventories/stores/<str:store_id>/products",
        views.legacy_products,
        name="legacy_products",
    ),
    path("openapi.json", views.openapi_json, name="openapi"),
    path("docs", views.docs, name="docs"),
    # The original service also had ReDoc at /redoc; one self-hosted page serves both.
    path("redoc", RedirectView.as_view(pattern_name="webhooks:docs"), name="redoc"),
]
