from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("stores", views.stores, name="stores"),
    path("stores/<int:pk>/toggle", views.store_toggle, name="store_toggle"),
    path("stores/<int:pk>/groups", views.groups, name="groups"),
    path("stores/<int:pk>/groups/<int:group_pk>/toggle", views.group_toggle, name="group_toggle"),
    path("stores/<int:pk>/products", views.products, name="products"),
    path("refresh", views.refresh_now, name="refresh"),
    path("refresh/status", views.refresh_status, name="refresh_status"),
]
