"""Run pages: the history, one run with its items, live progress, "Retry failed", and the
confirmation of a run the mass-removal guard held. Another merchant's run is a 404, for the
pages and for the POSTs alike."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from evosync.polling import poll_answer
from sync import selectors
from sync.models import Alert, RunItemStatus, RunStatus, RunTrigger
from sync.pictures import item_pictures

RUNS_PER_PAGE = 25
ITEMS_PER_PAGE = 50


@login_required
@require_GET
def runs(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.runs_of(request.user), RUNS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "sync/runs.html", {"page": page, "runs": page.object_list})


@login_required
@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.run_get(user=request.user, pk=pk)
    status = request.GET.get("status") or ""
    if status not in RunItemStatus.values:
        status = ""
    items = selectors.run_items(run, status=status or None).select_related("link")
    page = Paginator(items, ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    failed_items = list(selectors.run_failed_items(run).select_related("link")[:ITEMS_PER_PAGE])
    _attach_pictures(request.user, [*page.object_list, *failed_items])
    counts = {value: run.items.filter(status=value).count() for value in RunItemStatus.values}
    return render(
        request,
        "sync/run_detail.html",
        {
            "run": run,
            "page": page,
            "items": page.object_list,
            "status": status,
            "status_query": f"status={status}" if status else "",
            "status_choices": RunItemStatus.choices,
            "item_counts": counts,
            "failed_items": failed_items,
            "can_retry": run.failed > 0 and not run.is_active and not run.dry_run,
        },
    )


def _attach_pictures(user, items) -> None:
    """`item.picture`: the thumbnail and VK link of each row (item_pictures)."""
    keys = [
        (item.store_id, item.product_id, item.link.vk_item_id if item.link else None)
        for item in items
    ]
    pictures = item_pictures(user, keys)
    for item, key in zip(items, keys, strict=True):
        item.picture = pictures[key]


@never_cache
@login_required
@require_GET
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of a run: its HTML to htmx's poll, `{"html", "done", ...}` to a script."""
    run = selectors.run_get(user=request.user, pk=pk)
    html = render_to_string("sync/includes/run_progress.html", {"run": run}, request=request)
    if request.htmx:
        return poll_answer(request, html, done=not run.is_active)
    return JsonResponse(
        {
            "html": html,
            "done": not run.is_active,
            "status": run.status,
            "done_items": run.done,
            "total": run.total,
            "percent": run.progress_percent,
        }
    )


@login_required
@require_POST
def run_retry(request: HttpRequest, pk: int) -> HttpResponse:
    from sync.lifecycle import StartRefused, sync_run_request

    run = selectors.run_get(user=request.user, pk=pk)
    if not run.failed or run.dry_run:
        messages.info(request, _("This run has no failed items to retry."))
        return redirect("sync:run_detail", run.pk)
    try:
        new_run, started = sync_run_request(user=request.user, trigger=RunTrigger.RETRY)
    except StartRefused as refused:
        messages.error(request, refused.message)
        return redirect("sync:run_detail", run.pk)
    new_run.refresh_from_db(fields=["status", "error"])
    if not started:
        messages.info(request, _("A run is already in progress; it retries the failed items too."))
    elif new_run.status == RunStatus.FAILED:
        # The task queue did not take the run: its row says so.
        messages.error(request, new_run.error)
        return redirect("sync:run_detail", run.pk)
    else:
        messages.success(request, _("The failed items are being sent to VK again."))
    return redirect("sync:run_detail", new_run.pk)


@login_required
@require_http_methods(["GET", "POST"])
def run_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """The removal guard held this run: show what it would remove, then confirm it."""
    from sync.lifecycle import sync_run_confirm_held

    run = selectors.run_get(user=request.user, pk=pk)
    if run.status != RunStatus.HELD:
        messages.info(request, _("This run is not waiting for a confirmation any more."))
        return redirect("sync:run_detail", run.pk)
    if request.method == "POST":
        run = sync_run_confirm_held(run=run)
        run.refresh_from_db(fields=["status", "error"])
        if run.status == RunStatus.FAILED:
            # The task queue did not take the run: its row says so.
            messages.error(request, run.error)
        else:
            messages.success(request, _("Confirmed. The run goes on, removals included."))
        return redirect("sync:run_detail", run.pk)
    summary = run.plan_summary or {}
    removals = int(summary.get("removals") or 0)
    published = int(summary.get("published") or 0)
    percent = round(100 * removals / published) if published else 0
    return render(
        request,
        "sync/run_confirm.html",
        {
            "run": run,
            "summary": summary,
            "removals": removals,
            "published": published,
            "percent": percent,
            "hides": int(summary.get("hide") or 0),
            "deletes": int(summary.get("delete") or 0),
            "guard_percent": summary.get("guard_percent"),
        },
    )


@login_required
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """The merchant refuses a held run: nothing is removed; the alert goes."""
    from sync.lifecycle import sync_run_cancel_held

    run = selectors.run_get(user=request.user, pk=pk)
    if run.status != RunStatus.HELD:
        messages.info(request, _("This run is not waiting for a confirmation any more."))
        return redirect("sync:run_detail", run.pk)
    sync_run_cancel_held(run=run)
    messages.success(
        request,
        _(
            "Cancelled: nothing was hidden or deleted. Check your stores and groups; the next "
            "run asks again if the removals are still there."
        ),
    )
    return redirect("sync:dashboard")


@login_required
@require_POST
def alert_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    """Hides a banner; the alert comes back if its cause does (without a second e-mail today)."""
    from sync.alerts import alert_resolve
    from sync.views import safe_next

    alert = get_object_or_404(Alert.objects.filter(user=request.user), pk=pk)
    alert_resolve(user=request.user, cause=alert.cause)
    return redirect(safe_next(request, "sync:dashboard"))
