from django.urls import path

from connections import vk_views

# Included under /connections/vk/ in the `connections` namespace.
urlpatterns = [
    path("", vk_views.vk, name="vk"),
    path("connect/", vk_views.vk_connect, name="vk_connect"),
    path("callback/", vk_views.vk_callback, name="vk_callback"),
    path("communities/", vk_views.vk_communities, name="vk_communities"),
    path("save/", vk_views.vk_save, name="vk_save"),
    path("test/", vk_views.vk_test, name="vk_test"),
    path("disconnect/", vk_views.vk_disconnect, name="vk_disconnect"),
]
