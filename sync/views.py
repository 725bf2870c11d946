"""Publishing pages: the dashboard, "Sync now", the settings and the photo uploads.

The preview lives in `views_preview.py`, the run history and run pages in `views_runs.py`.
Views stay thin: they read through `sync.selectors`, write through the forms' `save` and the
run services (`sync.lifecycle`), and every form works without JavaScript.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sync import selectors
from sync.categories import vk_categories
from sync.forms import ProductPhotoForm, SyncSettingsForm
from sync.models import PHOTOS_PER_PRODUCT, PhotoEntity, RunStatus, RunTrigger
from sync.photo_services import product_photo_delete, product_photo_move
from sync.pictures import photo_subject_get, product_photo_get, product_photos_list


def url_or_empty(name: str, *args) -> str:
    """A link to another app's page, or "" while that page does not exist."""
    try:
        return reverse(name, args=args or None)
    except NoReverseMatch:
        return ""


def safe_next(request: HttpRequest, default: str) -> str:
    """The `next` the form carried, if it points at this site; else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    from catalog.filters import enabled_store_ids
    from sync.freshness import freshness_read

    user = request.user
    evotor, vk = selectors.connection_statuses(user)
    context = {
        "connections": [evotor, vk],
        "evotor": evotor,
        "vk": vk,
        "evotor_url": url_or_empty("connections:evotor"),
        "vk_url": url_or_empty("connections:vk"),
        "stores_url": url_or_empty("catalog:stores"),
        "stores_on": bool(enabled_store_ids(user)),
        "settings_obj": selectors.sync_settings_read(user),
        "first_published": selectors.first_publish_done(user),
        "last_run": selectors.run_last(user),
        "active_run": selectors.run_marked_active(user),
        "next_run": selectors.schedule_next_run(),
        "banners": selectors.alert_banners(user),
        "freshness": freshness_read(user),
    }
    return render(request, "sync/dashboard.html", context)


@login_required
@require_POST
def sync_now(request: HttpRequest) -> HttpResponse:
    """Starts a run by hand; a merchant's first publish always goes through the preview."""
    user = request.user
    if not selectors.first_publish_done(user):
        messages.info(
            request,
            _("Your first publish starts here: check what VK will get, then press “Publish”."),
        )
        return redirect("sync:preview")
    return start_run_and_answer(
        request,
        trigger=RunTrigger.MANUAL,
        refused_to="sync:dashboard",
        started_message=_("Publishing has started."),
    )


def start_run_and_answer(
    request: HttpRequest,
    *,
    trigger: str,
    refused_to: str,
    started_message: str,
    confirm_removals: int = 0,
) -> HttpResponse:
    """Start a run for the merchant (`sync.lifecycle.sync_run_request` decides whether it may)
    and say what happened: the new run, the one already going, why none started, or that the
    task queue did not take it."""
    from sync.lifecycle import StartRefused, sync_run_request

    try:
        run, started = sync_run_request(
            user=request.user, trigger=trigger, confirm_removals=confirm_removals
        )
    except StartRefused as refused:
        messages.error(request, refused.message)
        return redirect(refused_to)
    if not started:
        messages.info(request, _("A run is already in progress; here it is."))
        return redirect("sync:run_detail", run.pk)
    run.refresh_from_db(fields=["status", "error"])
    if run.status == RunStatus.FAILED and not run.started_at:
        # The task queue did not take the run: the row already says so.
        messages.error(request, run.error)
        return redirect(refused_to)
    messages.success(request, started_message)
    return redirect("sync:run_detail", run.pk)


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    from catalog.selectors import store_names
    from sync.plan.inputs import sync_settings_get

    user = request.user
    instance = sync_settings_get(user) if request.method == "POST" else None
    instance = instance or selectors.sync_settings_read(user)
    categories = vk_categories(user)
    form = SyncSettingsForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        instance=instance,
        categories=categories.choices,
        stores=store_names(user),
    )
    if request.method == "POST":
        if form.is_valid():
            given_back = form.given_back_to_evotor()
            form.save()
            messages.success(request, _("Settings saved. They apply from the next run."))
            if given_back:
                messages.info(
                    request,
                    _(
                        "%(fields)s: Evotor owns them again, so the next run puts Evotor's "
                        "values into your VK items, over the edits made in VK."
                    )
                    % {"fields": ", ".join(given_back)},
                )
            return redirect("sync:settings")
        # The form mutated the in-memory copy: show the saved photo, not the rejected one.
        instance.refresh_from_db()
    return render(
        request,
        "sync/settings.html",
        {
            "form": form,
            "settings_obj": instance,
            "categories_from_vk": categories.from_vk,
            "site_default_photo": bool(settings.VK_DEFAULT_PHOTO_PATH),
        },
    )


@login_required
@require_GET
def default_photo_image(request: HttpRequest) -> FileResponse:
    """The merchant's own default photo, served to them only (media is not public)."""
    settings_obj = selectors.sync_settings_read(request.user)
    if not settings_obj.pk or not settings_obj.default_photo:
        raise Http404
    return _file_response(settings_obj.default_photo)


@login_required
@require_http_methods(["GET", "POST"])
def photo_upload(
    request: HttpRequest, store_id: str, entity_type: str, entity_id: str
) -> HttpResponse:
    """Upload (or replace) the main photo of one Evotor product or group; for a product, add
    more (`add`), up to VK's main photo and four more."""
    subject = photo_subject_get(
        user=request.user, store_id=store_id, entity_type=entity_type, entity_id=entity_id
    )
    photos = list(
        product_photos_list(
            user=request.user, store_id=store_id, entity_type=entity_type, entity_id=entity_id
        )
    )
    is_product = subject.entity_type == PhotoEntity.PRODUCT
    adding = request.method == "POST" and is_product and request.POST.get("add") == "1"
    next_url = safe_next(request, reverse("sync:preview"))
    form = ProductPhotoForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        add=adding,
        existing=len(photos),
    )
    if request.method == "POST" and form.is_valid():
        form.save(
            user=request.user, store_id=store_id, entity_type=entity_type, entity_id=entity_id
        )
        messages.success(
            request,
            _("The photo of “%(name)s” is saved; it goes to VK with the next run.")
            % {"name": subject.name},
        )
        return redirect(next_url)
    group_url = ""
    if subject.entity_type == PhotoEntity.PRODUCT and subject.group_id:
        group_url = reverse("sync:photo_upload", args=[store_id, "group", subject.group_id])
    return render(
        request,
        "sync/photo_upload.html",
        {
            "subject": subject,
            "photo": photos[0] if photos else None,
            "photos": photos,
            "form": form,
            "adding": adding,
            "can_add": is_product and photos and len(photos) < PHOTOS_PER_PRODUCT,
            "next": next_url,
            "group_url": group_url,
        },
    )


@login_required
@require_POST
def photo_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move an uploaded product photo one place up or down (the first is the main photo)."""
    photo = product_photo_get(user=request.user, pk=pk)
    back = reverse("sync:photo_upload", args=[photo.store_id, photo.entity_type, photo.entity_id])
    if product_photo_move(photo=photo, up=request.POST.get("direction") != "down"):
        messages.success(request, _("The order of the photos is saved."))
    return redirect(safe_next(request, back))


@login_required
@require_POST
def photo_delete(request: HttpRequest, pk: int) -> HttpResponse:
    photo = product_photo_get(user=request.user, pk=pk)
    back = reverse("sync:photo_upload", args=[photo.store_id, photo.entity_type, photo.entity_id])
    product_photo_delete(photo=photo)
    messages.success(request, _("The photo is removed."))
    return redirect(safe_next(request, back))


@login_required
@require_GET
def photo_image(request: HttpRequest, pk: int) -> FileResponse:
    photo = product_photo_get(user=request.user, pk=pk)
    return _file_response(photo.image)


def _file_response(field_file) -> FileResponse:
    try:
        handle = field_file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle)
    response["Cache-Control"] = "private, max-age=300"
    return response
