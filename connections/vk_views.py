"""The merchant's VK connection pages (/connections/vk/): one page, save, test, disconnect.

Every view acts on the signed-in merchant's own connection only: no id ever comes from the URL.
The test button answers JSON for site.js and redirects with a message without JavaScript.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from connections.vk_forms import VkConnectionForm
from connections.vk_services import (
    vk_connection_disconnect,
    vk_connection_get,
    vk_connection_save,
    vk_connection_test,
)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _page(request: HttpRequest, form: VkConnectionForm, *, status: int = 200) -> HttpResponse:
    connection = vk_connection_get(user=request.user)
    return render(
        request, "connections/vk.html", {"connection": connection, "form": form}, status=status
    )


@login_required
@require_GET
def vk(request: HttpRequest) -> HttpResponse:
    connection = vk_connection_get(user=request.user)
    initial = {"community": connection.group_id} if connection and connection.group_id else {}
    return _page(request, VkConnectionForm(connection=connection, initial=initial))


@login_required
@require_POST
def vk_save(request: HttpRequest) -> HttpResponse:
    connection = vk_connection_get(user=request.user)
    form = VkConnectionForm(request.POST, connection=connection)
    if not form.is_valid():
        return _page(request, form, status=400)
    vk_connection_save(
        user=request.user,
        group_id=form.cleaned_data["group_id"],
        access_token=form.cleaned_data["access_token"] or None,
    )
    messages.success(request, _("Saved. Press “Check the connection” to make sure VK accepts it."))
    return redirect("connections:vk")


@login_required
@require_POST
def vk_test(request: HttpRequest) -> HttpResponse:
    result = vk_connection_test(user=request.user)
    if request.htmx:
        status_html = render_to_string(
            "connections/vk_status.html",
            {"connection": vk_connection_get(user=request.user)},
            request=request,
        )
        return render(
            request,
            "includes/check_result.html",
            {
                "status_html": status_html,
                "output_id": "vk-test-result",
                "ok": result.ok,
                "message": result.message,
            },
        )
    if _wants_json(request):
        html = render_to_string(
            "connections/vk_status.html",
            {"connection": vk_connection_get(user=request.user)},
            request=request,
        )
        return JsonResponse({"ok": result.ok, "message": result.message, "html": html})
    (messages.success if result.ok else messages.error)(request, result.message)
    return redirect("connections:vk")


@login_required
@require_http_methods(["GET", "POST"])
def vk_disconnect(request: HttpRequest) -> HttpResponse:
    connection = vk_connection_get(user=request.user)
    if request.method == "GET":
        if connection is None or not (connection.access_token or connection.group_id):
            return redirect("connections:vk")
        return render(request, "connections/vk_disconnect.html", {"connection": connection})
    if vk_connection_disconnect(user=request.user):
        messages.success(
            request,
            _(
                "VK is disconnected: the token and the cached VK catalog are deleted. Items already in VK stay there."
            ),
        )
    return redirect("connections:vk")
