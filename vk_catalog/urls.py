from django.urls import path  # noqa: F401

app_name = "vk_catalog"

urlpatterns: list = []
