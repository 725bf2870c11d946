from django.urls import path

from sync import views, views_preview, views_runs

app_name = "sync"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("sync-now", views.sync_now, name="sync_now"),
    path("preview", views_preview.preview, name="preview"),
    path("preview/again", views_preview.preview_again, name="preview_again"),
    path("preview/<int:pk>/progress", views_preview.preview_progress, name="preview_progress"),
    path("publish", views_preview.publish, name="publish"),
    path(
        "preview/evotor-photo/<str:store_id>/<str:product_id>/<str:image_id>",
        views_preview.evotor_photo,
        name="evotor_photo",
    ),
    path(
        "adoptions/<str:store_id>/<str:product_id>",
        views_preview.adoption_answer,
        name="adoption_answer",
    ),
    path("settings", views.settings_page, name="settings"),
    path("settings/default-photo", views.default_photo_image, name="default_photo_image"),
    path("runs", views_runs.runs, name="runs"),
    path("runs/<int:pk>", views_runs.run_detail, name="run_detail"),
    path("runs/<int:pk>/progress", views_runs.run_progress, name="run_progress"),
    path("runs/<int:pk>/retry", views_runs.run_retry, name="run_retry"),
    path("runs/<int:pk>/confirm", views_runs.run_confirm, name="run_confirm"),
    path("runs/<int:pk>/cancel", views_runs.run_cancel, name="run_cancel"),
    path("alerts/<int:pk>/dismiss", views_runs.alert_dismiss, name="alert_dismiss"),
    path(
        "photos/<str:store_id>/<str:entity_type>/<str:entity_id>",
        views.photo_upload,
        name="photo_upload",
    ),
    path("photos/<int:pk>/image", views.photo_image, name="photo_image"),
    path("photos/<int:pk>/delete", views.photo_delete, name="photo_delete"),
    path("photos/<int:pk>/move", views.photo_move, name="photo_move"),
]
