"""The merchant's Evotor catalog pages: stores, the group tree, products, and the switches.

Switches are POST forms that work without JavaScript (redirect back with a message); sent by
static/js/site.js (`data-async`) they get JSON with the re-rendered fragment instead.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from catalog import selectors, services
from catalog.filters import EntityType, sync_filter_set
from catalog.models import RefreshStatus
from evosync.polling import poll_answer

PRODUCTS_PER_PAGE = 50


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back(request: HttpRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = default
    return redirect(target)


def _connect_url() -> str | None:
    try:
        return reverse("connections:evotor")
    except NoReverseMatch:
        return None


def _enabled_from(request: HttpRequest) -> bool:
    return request.POST.get("enabled") in ("1", "true", "on")


def _refresh_context(user) -> dict:
    run = selectors.latest_refresh(user)
    stale = selectors.refresh_is_stale(run)
    return {
        "refresh": run,
        "refresh_stale": stale,
        "refresh_active": run is not None
        and not stale
        and run.status in (RefreshStatus.QUEUED, RefreshStatus.RUNNING),
        # The stores the page shows as cards (a store Evotor gives no access to is one too):
        # the summary counts the same (issue 12: «2 магазина» above three cards).
        "store_count": selectors.store_count(user),
    }


@login_required
@require_GET
def stores(request: HttpRequest) -> HttpResponse:
    connection = selectors.evotor_connection(request.user)
    context = {
        "connection": connection,
        "connect_url": _connect_url(),
        "stores": selectors.stores_for_page(request.user),
        **_refresh_context(request.user),
    }
    return render(request, "catalog/stores.html", context)


@login_required
@require_POST
def store_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    store = selectors.store_for_user(request.user, pk)
    enabled = _enabled_from(request)
    if enabled and not store.is_accessible:
        refused = _("Evotor gives no access to «%(name)s», so it cannot be published.") % {
            "name": store.name
        }
        if _wants_json(request):
            return JsonResponse({"ok": False, "message": refused}, status=409)
        messages.error(request, refused)
        return _back(request, reverse("catalog:stores"))
    sync_filter_set(
        user=request.user, entity_type=EntityType.STORE, entity_id=store.evotor_id, enabled=enabled
    )
    store.sync_enabled = enabled
    if enabled:
        message = _("Store «%(name)s» will be published to VK.") % {"name": store.name}
    else:
        message = _("Store «%(name)s» will not be published to VK.") % {"name": store.name}
    if request.htmx or _wants_json(request):
        html = render_to_string(
            "catalog/_store_toggle.html",
            {"store": store, "next": request.POST.get("next", "")},
            request=request,
        )
        if request.htmx:
            return HttpResponse(html)
        return JsonResponse({"ok": True, "html": html, "message": message})
    messages.success(request, message)
    return _back(request, reverse("catalog:stores"))


@login_required
@require_GET
def groups(request: HttpRequest, pk: int) -> HttpResponse:
    store = selectors.store_for_user(request.user, pk)
    tree = selectors.group_tree(request.user, store)
    return render(request, "catalog/groups.html", {"store": store, "tree": tree})


@login_required
@require_POST
def group_toggle(request: HttpRequest, pk: int, group_pk: int) -> HttpResponse:
    store = selectors.store_for_user(request.user, pk)
    group = selectors.group_for_user(request.user, store, group_pk)
    enabled = _enabled_from(request)
    sync_filter_set(
        user=request.user,
        entity_type=EntityType.GROUP,
        entity_id=group.evotor_id,
        parent_entity_id=store.evotor_id,
        enabled=enabled,
    )
    if enabled:
        message = _("Group «%(name)s» is included.") % {"name": group.name}
    else:
        message = _("Group «%(name)s» and its subgroups are left out.") % {"name": group.name}
    if request.htmx or _wants_json(request):
        tree = selectors.group_tree(request.user, store)
        html = render_to_string(
            "catalog/_group_tree.html", {"store": store, "tree": tree}, request=request
        )
        if request.htmx:
            return HttpResponse(html)
        return JsonResponse({"ok": True, "html": html, "message": message})
    messages.success(request, message)
    return _back(request, reverse("catalog:groups", args=[store.pk]))


@login_required
@require_GET
def products(request: HttpRequest, pk: int) -> HttpResponse:
    store = selectors.store_for_user(request.user, pk)
    tree = selectors.group_tree(request.user, store)
    group_id = request.GET.get("group", "")
    if group_id not in tree.nodes:
        group_id = ""
    query = request.GET.get("q", "").strip()[:100]
    listing = selectors.store_products(store, tree=tree, group_id=group_id, query=query)
    page = Paginator(listing, PRODUCTS_PER_PAGE).get_page(request.GET.get("page"))
    for product in page.object_list:
        node = tree.nodes.get(product.parent_evotor_id)
        product.group_name = node.group.name if node else ""
    filters = request.GET.copy()
    filters.pop("page", None)
    return render(
        request,
        "catalog/products.html",
        {
            "store": store,
            "tree": tree,
            "group_id": group_id,
            "query": query,
            "page": page,
            "filter_query": filters.urlencode(),
        },
    )


@login_required
@require_POST
def refresh_now(request: HttpRequest) -> HttpResponse:
    connection = selectors.evotor_connection(request.user)
    if connection is None or not connection.is_usable:
        messages.error(request, _("Connect Evotor first: there is nothing to read yet."))
    else:
        run, created = services.catalog_refresh_request(user=request.user)
        run.refresh_from_db(fields=["status", "error"])
        if run.status == RefreshStatus.FAILED:
            # The task queue did not take it: the row says so.
            messages.error(request, run.error)
        elif created:
            messages.success(
                request, _("The catalog refresh has started; this page follows its progress.")
            )
        else:
            messages.info(request, _("A catalog refresh is already under way."))
    return redirect("catalog:stores")


@login_required
@require_GET
@never_cache
def refresh_status(request: HttpRequest) -> HttpResponse:
    """The status block of the stores page, polled (htmx) while a refresh is queued or running;
    JSON for a script."""
    context = _refresh_context(request.user)
    html = render_to_string("catalog/_refresh_status.html", context, request=request)
    if request.htmx:
        return poll_answer(request, html, done=not context["refresh_active"])
    return JsonResponse({"html": html, "done": not context["refresh_active"]})
