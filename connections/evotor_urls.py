from django.urls import path

from connections import evotor_views

# Included by connections/urls.py under /connections/evotor/ (namespace "connections").
urlpatterns = [
    path("", evotor_views.evotor, name="evotor"),
    path("save/", evotor_views.evotor_save, name="evotor_save"),
    path("test/", evotor_views.evotor_test, name="evotor_test"),
    path("disconnect/", evotor_views.evotor_disconnect, name="evotor_disconnect"),
]
