"""The merchant's VK connection pages (/connections/vk/).

    GET  /                  state, «Подключить ВКонтакте», the advanced paste form
    POST connect/           starts VK ID's consent (connections/vk_connect.py) → redirect to VK
    GET  callback/          VK sends the person back here with a code (or a refusal)
    GET  communities/       the communities the person administers, to choose one
    POST communities/       the choice: explained when wrong, saved and checked when right
    POST save/              the advanced way: a pasted token and a community, checked first
    POST test/              check the saved connection (JSON for site.js, or a redirect)
    GET|POST disconnect/    confirm, then forget token and community

Every view acts on the signed-in merchant's own connection only: no id ever comes from the URL.
Each outcome shows once: a check that broke the connection shows its reason in the state block
and nowhere else; other outcomes are one message.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from connections import vk_oauth
from connections.models import VkTokenKind
from connections.signals import REASON_TOKEN
from connections.vk_connect import (
    VkConnectError,
    community_problem,
    vk_connect_begin,
    vk_connect_choose,
    vk_connect_communities,
    vk_connect_finish,
    vk_connect_forget,
)
from connections.vk_forms import CommunityChoiceForm, VkConnectionForm
from connections.vk_services import (
    VkTestResult,
    vk_connection_connect_pasted,
    vk_connection_disconnect,
    vk_connection_get,
    vk_connection_test,
)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _page(request: HttpRequest, form: VkConnectionForm, *, status: int = 200) -> HttpResponse:
    connection = vk_connection_get(user=request.user)
    return render(
        request,
        "connections/vk.html",
        {
            "connection": connection,
            "form": form,
            "one_click": vk_oauth.is_configured(),
            "vk_id_connection": connection is not None
            and connection.token_kind == VkTokenKind.VK_ID,
            # The advanced form opens by itself when it has something to say.
            "advanced_open": bool(form.errors) or not vk_oauth.is_configured(),
            # The state block shows what the alerts about this connection say (no banner too).
            "shows_its_own_alerts": True,
        },
        status=status,
    )


def _say(request: HttpRequest, result: VkTestResult) -> None:
    """One message for an outcome the state block does not already show."""
    if result.ok:
        messages.success(request, result.message)
    elif not result.recorded:
        (messages.warning if result.transient else messages.error)(request, result.message)


@login_required
@require_GET
def vk(request: HttpRequest) -> HttpResponse:
    connection = vk_connection_get(user=request.user)
    initial = {"community": connection.group_id} if connection and connection.group_id else {}
    return _page(request, VkConnectionForm(connection=connection, initial=initial))


# --- one-click connect ---------------------------------------------------------------------------


def _redirect_uri(request: HttpRequest) -> str:
    return settings.VK_ID_REDIRECT_URI or request.build_absolute_uri(
        reverse("connections:vk_callback")
    )


@login_required
@require_POST
def vk_connect(request: HttpRequest) -> HttpResponse:
    if not vk_oauth.is_configured():
        messages.error(
            request,
            _("One-click connect is not set up on this server. Paste a token below instead."),
        )
        return redirect("connections:vk")
    url = vk_connect_begin(
        session=request.session, user=request.user, redirect_uri=_redirect_uri(request)
    )
    return redirect(url)


@login_required
@require_GET
def vk_callback(request: HttpRequest) -> HttpResponse:
    try:
        vk_connect_finish(session=request.session, user=request.user, params=request.GET)
    except VkConnectError as exc:
        messages.error(request, exc.message)
        return redirect("connections:vk")
    return redirect("connections:vk_communities")


@login_required
@require_http_methods(["GET", "POST"])
def vk_communities(request: HttpRequest) -> HttpResponse:
    listing = vk_connect_communities(session=request.session, user=request.user)
    if listing is None:
        messages.info(request, _("Press “Connect VK” first: VK will show your communities."))
        return redirect("connections:vk")
    form = CommunityChoiceForm(request.POST or None)
    status = 200
    problem = ""
    if request.method == "POST":
        if form.is_valid():
            result = vk_connect_choose(
                session=request.session, user=request.user, group_id=form.cleaned_data["group_id"]
            )
            if result.ok:
                messages.success(request, result.message)
                return redirect("connections:vk")
            if result.transient:
                problem = result.message
            else:
                form.add_error("group_id", result.message)
                if result.reason == REASON_TOKEN:
                    # The access itself is gone: only a new consent helps.
                    vk_connect_forget(session=request.session)
        status = 400 if form.errors else 200
    connection = vk_connection_get(user=request.user)
    chosen = form.data.get("group_id") if form.is_bound else None
    return render(
        request,
        "connections/vk_communities.html",
        {
            "listing": listing,
            "rows": [
                {
                    "community": community,
                    "problem": community_problem(community),
                    "checked": str(community.id) == str(chosen)
                    or (chosen is None and connection and connection.group_id == community.id),
                }
                for community in listing.communities
            ],
            "form": form,
            "problem": problem,
        },
        status=status,
    )


# --- the advanced way: a pasted token --------------------------------------------------------------


@login_required
@require_POST
def vk_save(request: HttpRequest) -> HttpResponse:
    connection = vk_connection_get(user=request.user)
    form = VkConnectionForm(request.POST, connection=connection)
    if not form.is_valid():
        return _page(request, form, status=400)
    result = vk_connection_connect_pasted(
        user=request.user,
        group_id=form.cleaned_data["group_id"],
        access_token=form.cleaned_data["access_token"] or None,
    )
    if result.reason is not None:
        # Nothing was saved: the form says why, next to what to change.
        field = "access_token" if result.reason == REASON_TOKEN else "community"
        form.add_error(field, result.message)
        return _page(request, form, status=400)
    _say(request, result)
    return redirect("connections:vk")


# --- check and disconnect -------------------------------------------------------------------------


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
                # A reason the state block now shows is not repeated next to the button.
                "message": "" if result.recorded and not result.ok else result.message,
            },
        )
    if _wants_json(request):
        html = render_to_string(
            "connections/vk_status.html",
            {"connection": vk_connection_get(user=request.user)},
            request=request,
        )
        # A reason the state block now shows is not repeated next to the button.
        message = "" if result.recorded and not result.ok else result.message
        return JsonResponse({"ok": result.ok, "message": message, "html": html})
    _say(request, result)
    return redirect("connections:vk")


@login_required
@require_http_methods(["GET", "POST"])
def vk_disconnect(request: HttpRequest) -> HttpResponse:
    connection = vk_connection_get(user=request.user)
    if request.method == "GET":
        if connection is None or not (connection.access_token or connection.group_id):
            return redirect("connections:vk")
        return render(request, "connections/vk_disconnect.html", {"connection": connection})
    vk_connect_forget(session=request.session)
    if vk_connection_disconnect(user=request.user):
        messages.success(
            request,
            _(
                "VK is disconnected: the token and the cached VK catalog are deleted. Items already in VK stay there."
            ),
        )
    return redirect("connections:vk")
