"""The merchant's VK Market as EvoSync last read it: albums, their items, and the refresh button."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from evosync.polling import poll_answer
from vk_catalog import selectors
from vk_catalog.models import RefreshStatus, RefreshTrigger
from vk_catalog.services import VkCatalogUnavailable, vk_catalog_enqueue_refresh

PRODUCTS_PER_PAGE = 50


def _vk_connect_url() -> str | None:
    """The VK connection page, when the connections app provides it."""
    try:
        return reverse("connections:vk")
    except NoReverseMatch:
        return None


def _status_context(user) -> dict:
    return {
        "latest_refresh": selectors.vk_latest_refresh(user),
        "last_success": selectors.vk_last_successful_refresh(user),
    }


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_GET
def albums(request):
    user = request.user
    connection = selectors.vk_connection_for_user(user)
    context = {
        "connection": connection,
        "vk_connect_url": _vk_connect_url(),
        "albums": list(selectors.vk_albums_for_user(user)),
        "counts": selectors.vk_catalog_counts(user),
        **_status_context(user),
    }
    return render(request, "vk_catalog/albums.html", context)


def _products_page(request, *, album, heading: str, album_obj=None):
    user = request.user
    paginator = Paginator(selectors.vk_products_for_user(user, album=album), PRODUCTS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    context = {
        "album": album_obj,
        "heading": heading,
        "page": page,
        "products": list(page.object_list),
        **_status_context(user),
    }
    return render(request, "vk_catalog/products.html", context)


@login_required
@require_GET
def album_products(request, pk: int):
    album = selectors.vk_album_for_user(request.user, pk)
    return _products_page(request, album=album, heading=album.title, album_obj=album)


@login_required
@require_GET
def all_products(request):
    return _products_page(request, album=selectors.ALL_ITEMS, heading=_("All items"))


@login_required
@require_GET
def products_without_album(request):
    return _products_page(request, album=selectors.NO_ALBUM, heading=_("Items in no album"))


@login_required
@require_POST
def refresh(request) -> HttpResponseBase:
    """Queue a refresh now; answers JSON to fetch() and redirects a plain form post."""
    try:
        run, queued_now = vk_catalog_enqueue_refresh(
            user=request.user, trigger=RefreshTrigger.MANUAL
        )
    except VkCatalogUnavailable as exc:
        if _wants_json(request):
            return JsonResponse({"ok": False, "error": exc.user_message}, status=409)
        messages.error(request, exc.user_message)
        return redirect("vk_catalog:albums")
    run.refresh_from_db(fields=["status", "error"])
    if run.status == RefreshStatus.FAILED:
        # The task queue did not take it: the row says so.
        if _wants_json(request):
            return JsonResponse({"ok": False, "error": run.error}, status=503)
        messages.error(request, run.error)
        return redirect("vk_catalog:albums")
    message = (
        _("The refresh has started. This page will update when it is done.")
        if queued_now
        else _("The VK catalog is already being refreshed.")
    )
    if _wants_json(request):
        html = render_to_string(
            "vk_catalog/_refresh_box.html", _status_context(request.user), request=request
        )
        return JsonResponse({"ok": True, "message": message, "html": html})
    messages.info(request, message)
    return redirect("vk_catalog:albums")


@never_cache
@login_required
@require_GET
def refresh_status(request):
    """What the status box polls while a refresh is queued or running."""
    context = _status_context(request.user)
    latest = context["latest_refresh"]
    html = render_to_string("vk_catalog/_refresh_status.html", context, request=request)
    done = not (latest and latest.is_active)
    if request.htmx:
        return poll_answer(request, html, done=done)
    return JsonResponse({"html": html, "done": done})
