from django.urls import path

from vk_catalog import views

app_name = "vk_catalog"

urlpatterns = [
    path("albums", views.albums, name="albums"),
    path("albums/<int:pk>/products", views.album_products, name="album_products"),
    path("products", views.all_products, name="products"),
    path("products/no-album", views.products_without_album, name="products_without_album"),
    path("refresh", views.refresh, name="refresh"),
    path("refresh/status", views.refresh_status, name="refresh_status"),
]
