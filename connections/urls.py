from django.urls import include, path

app_name = "connections"

# Each vendor's pages live in their own module; names are prefixed evotor_ / vk_.
urlpatterns = [
    path("evotor/", include("connections.evotor_urls")),
    path("vk/", include("connections.vk_urls")),
]
