"""The project's URLs plus a few views that exist only to exercise the error and message paths."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path

from evosync.urls import handler403, handler404, handler500  # noqa: F401 - used by Django
from evosync.urls import urlpatterns as project_urlpatterns


def raise_error(request):
    raise RuntimeError("a bug in a view")


def raise_permission_denied(request):
    raise PermissionDenied


def flash_message(request):
    messages.success(request, "Your settings were saved.")
    return redirect("/test-foundation/page")


def plain_page(request):
    return render(request, "base.html")


urlpatterns = [
    path("test-foundation/error", raise_error),
    path("test-foundation/forbidden", raise_permission_denied),
    path("test-foundation/flash", flash_message),
    path("test-foundation/page", plain_page),
    *project_urlpatterns,
]
