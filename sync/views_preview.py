"""The preview: what the next run would do to VK, before anything is written, and "Publish".

A merchant's first publish always goes through here (docs/contracts/competitors.md §4.2: nobody else shows a
diff before writing). The plan comes from the engine (`sync.plan.preview.sync_run_preview`) and is built
from the cached catalogs (plus, for at most 200 new products whose only photo is Evotor's, a
bounded read of Evotor's image lists). It is computed in the request for a small catalog and by
a task for a large one, the page showing its progress meanwhile, and kept until what it was
computed from changes (sync/preview_jobs.py); the pages read the kept result (the counts, the
first few items of each action, a paginated "show all" per action: sync/preview_store.py).
New items whose Evotor photo is still unknown are announced as "checked at publish".

While a large catalog's preview is computed again, the last result is shown at once, marked
stale (a banner: when it was computed, the new one's progress, what "Publish" does now).

"Publish" carries what its preview was computed from: if the catalogs or settings changed after
it was shown, nothing is published and the preview is shown as it is now; from a result shown
as stale it publishes the catalog as it is now, within limits (sync/preview_publish.py).

When the removal guard would hold the run, "Publish" carries a required tick confirming the
number of removals shown; the run then goes through unless its plan removes more by then.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from sync import preview_rows, selectors
from sync.models import RunTrigger
from sync.preview_pictures import evotor_photo_thumbnail
from sync.preview_store import CHUNK_ITEMS, FIRST_ITEMS, FLAGGED
from sync.views import url_or_empty

ITEMS_PER_ACTION = FIRST_ITEMS
ITEMS_PER_PAGE = CHUNK_ITEMS  # a "show all" page reads one kept chunk

ACTION_SECTIONS = (
    ("create", gettext_lazy("New items"), gettext_lazy("Created in VK.")),
    (
        "adopt",
        gettext_lazy("Items already in VK"),
        gettext_lazy(
            "Found in your VK Market with the same barcode or article and a similar name: "
            "they are linked to the Evotor product and updated, not duplicated."
        ),
    ),
    ("update", gettext_lazy("Changed items"), gettext_lazy("Only the fields shown change.")),
    ("restore", gettext_lazy("Shown again"), gettext_lazy("Back on sale, so shown in VK again.")),
    (
        "hide",
        gettext_lazy("Hidden"),
        gettext_lazy("Hidden in VK, not deleted: likes and links stay."),
    ),
    ("delete", gettext_lazy("Deleted"), gettext_lazy("Deleted from VK, as your settings say.")),
)
ACTION_LABELS = {key: label for key, label, _help in ACTION_SECTIONS}


@never_cache
@login_required
@require_GET
def preview(request: HttpRequest) -> HttpResponse:
    """The preview: the kept result when it is current, else computed again (in the request
    for a small catalog, by a task for a large one, the page showing its progress)."""
    from sync.preview_jobs import catalog_size, planned_inline, preview_current

    user = request.user
    action = request.GET.get("action") or ""
    if action not in ACTION_LABELS and action != FLAGGED:
        action = ""
    # A small catalog is planned again at every visit of the preview itself, as it always
    # was; its "show all" pages, and every page of a large one, read the kept result.
    again = not action and planned_inline(catalog_size(user))
    kept = preview_current(user, again=again)
    if not kept.is_ready and not kept.has_result:
        return render(request, "sync/preview_progress.html", progress_context(kept))
    # A kept result computed from what has changed since is shown at once, as stale, while
    # the new one is computed (its progress inline): a catalog that changes faster than its
    # preview is computed would otherwise never show one.
    return _result_page(request, kept, action=action)


def _result_page(request: HttpRequest, kept, *, action: str) -> HttpResponse:
    from catalog.filters import enabled_store_ids
    from sync.lifecycle import category_refusal
    from sync.preview_store import PreviewSection, first_items, preview_summary

    user = request.user
    plan = preview_summary(kept)
    preview_url = reverse("sync:preview")
    stale = (plan.source_key or kept.source_key) != kept.current_key
    connections = {c.vendor: c for c in selectors.connection_statuses(user)}
    context = {
        "plan": plan,
        "counts": plan.counts,
        "preview": kept,
        "preview_inline_max": settings.PREVIEW_INLINE_MAX_PRODUCTS,
        "vk_connected": connections["vk"].connected,
        "vk_url": url_or_empty("connections:vk"),
        "category_refusal": category_refusal(user),
        "sent_before": selectors.anything_sent(user),
        "adoption_reviews": plan.adoption_reviews,
        "first_published": selectors.first_publish_done(user),
        "stores_on": bool(enabled_store_ids(user)),
        "stores_url": url_or_empty("catalog:stores"),
        "vk_catalog_url": url_or_empty("vk_catalog:albums"),
        "active_run": selectors.run_marked_active(user),
        "action": action,
        "removal_percent": round(100 * plan.removals / plan.published) if plan.published else 0,
        "extras_pending": plan.extras_pending,
        # The key of the result shown, which "Publish" carries (sync/preview_publish.py).
        "seen_key": plan.source_key or kept.source_key,
        "stale": stale,
        **(progress_context(kept) if stale or not kept.is_ready else {}),
    }
    if action:
        title = _("Not sent to VK") if action == FLAGGED else ACTION_LABELS[action]
        # Paginated by rows: a product with variants is one row (sync/preview_variants.py).
        chosen = PreviewSection(kept, action, plan.section_rows.get(action, 0))
        page = Paginator(chosen, ITEMS_PER_PAGE).get_page(request.GET.get("page"))
        units = list(page.object_list)
        names = _category_names(user, plan, [item for unit in units for item in unit])
        context.update(
            {
                "page": page,
                "section_title": title,
                "rows": preview_rows.unit_rows(
                    plan, units, names, preview_url=preview_url, user=user
                ),
                "item_count": plan.sections.get(action, 0),
            }
        )
        return render(request, "sync/preview_action.html", context)

    firsts = first_items(kept)
    names = _category_names(
        user, plan, [item for units in firsts.values() for unit in units for item in unit]
    )
    sections = []
    for key, label, help_text in ACTION_SECTIONS:
        count = plan.sections.get(key, 0)
        if count:
            rows = preview_rows.unit_rows(
                plan, firsts[key][:ITEMS_PER_ACTION], names, preview_url=preview_url, user=user
            )
            sections.append(
                {
                    "key": key,
                    "label": label,
                    "help": help_text,
                    "count": count,
                    "rows": rows,
                    "more": plan.section_rows.get(key, 0) > ITEMS_PER_ACTION,
                }
            )
    flagged = firsts[FLAGGED]
    flagged_count = plan.sections.get(FLAGGED, 0)
    context.update(
        {
            "sections": sections,
            "flagged_count": flagged_count,
            "flagged_rows": preview_rows.unit_rows(
                plan, flagged[:ITEMS_PER_ACTION], names, preview_url=preview_url, user=user
            ),
            "flagged_more": plan.section_rows.get(FLAGGED, 0) > ITEMS_PER_ACTION,
            "photos_missing": plan.photos_missing,
            "albums_new": [a for a in plan.albums_to_create if not a.adopt_vk_album_id],
            "albums_adopted": [a for a in plan.albums_to_create if a.adopt_vk_album_id],
            "vk_catalog_read": _vk_catalog_read(user),
            "vk_read_at": _vk_read_at(user),
            "kept_rows": preview_rows.kept_rows(plan.kept_in_vk[:ITEMS_PER_ACTION]),
            "kept_more": plan.counts["kept_in_vk"] - ITEMS_PER_ACTION,
            "overwritten_count": plan.counts["vk_edits_overwritten"],
        }
    )
    return render(request, "sync/preview.html", context)


def _category_names(user, plan, items) -> dict[int, str]:
    """VK's category names, read only when an item on the page changes its category."""
    if not plan.category_changes:
        return {}
    return preview_rows.category_names(user, SimpleNamespace(items=items))


def progress_context(kept) -> dict:
    from sync.preview_jobs import STAGE_LABELS

    return {
        "preview": kept,
        "stage_label": STAGE_LABELS.get(kept.stage, ""),
        # Shown inline under a kept result (views' `stale`), not on a page of its own.
        "replaces_result": kept.has_result,
    }


@never_cache
@login_required
@require_GET
def preview_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The live part of a preview being computed: its HTML to htmx's poll (the whole page
    again once it is ready), `{"status", "done", "total", ...}` as JSON to anything else.
    Another merchant's preview is a 404."""
    from evosync.polling import poll_answer
    from evosync.runs import run_close_if_dead
    from sync.models import PlanPreview

    kept = get_object_or_404(PlanPreview, pk=pk, user=request.user)
    if kept.is_active:
        run_close_if_dead(kept)
        kept.refresh_from_db()
    html = render_to_string(
        "sync/includes/preview_progress.html", progress_context(kept), request=request
    )
    if request.htmx:
        return poll_answer(request, html, done=not kept.is_active)
    return JsonResponse(
        {
            "status": kept.status,
            "ready": kept.is_ready,
            "done": kept.done,
            "total": kept.total,
            "percent": kept.progress_percent,
            "stage": kept.stage,
            "error": kept.error,
            "html": html,
        }
    )


@login_required
@require_POST
def preview_again(request: HttpRequest) -> HttpResponse:
    """Compute the preview again now (after a failure, or to be sure it is current)."""
    from sync.preview_jobs import preview_current

    preview_current(request.user, again=True)
    return redirect("sync:preview")


@login_required
@require_GET
def evotor_photo(request: HttpRequest, store_id: str, product_id: str, image_id: str):
    """A small copy of a product's Evotor picture for the preview (sync.preview_pictures): another
    merchant's product, or a picture Evotor no longer has, is a 404."""
    data = evotor_photo_thumbnail(
        user=request.user, store_id=store_id, product_id=product_id, image_id=image_id
    )
    if data is None:
        raise Http404
    response = HttpResponse(data, content_type="image/jpeg")
    # The URL names the picture's version (its Evotor id): the browser may keep it.
    response["Cache-Control"] = "private, max-age=86400"
    return response


def _vk_catalog_read(user) -> bool:
    """Whether the VK Market was read at least once (adoption looks at that copy)."""
    from vk_catalog.models import RefreshStatus, VkCatalogRefresh

    return VkCatalogRefresh.objects.filter(user=user, status=RefreshStatus.OK).exists()


@login_required
@require_POST
def publish(request: HttpRequest) -> HttpResponse:
    """The preview's "Publish": queue a run now (the first one, or any manual one). When the
    preview announced the removal guard, the merchant's tick confirms the removals shown."""
    from sync.preview_publish import publish_refusal
    from sync.views import start_run_and_answer

    # The form carries what its preview was computed from: a change since may mean what would
    # be published is not what the merchant saw (sync/preview_publish.py says when it does).
    refusal = publish_refusal(
        request.user,
        seen=request.POST.get("preview_key"),
        as_now=request.POST.get("as_now") == "1",
    )
    if refusal:
        messages.warning(request, refusal)
        return redirect("sync:preview")
    return start_run_and_answer(
        request,
        trigger=RunTrigger.MANUAL,
        refused_to="sync:preview",
        started_message=_("Publishing has started. You can follow it here."),
        confirm_removals=_confirmed_removals(request),
    )


@login_required
@require_POST
def adoption_answer(request: HttpRequest, store_id: str, product_id: str) -> HttpResponse:
    """The merchant's answer about a VK item that may be this product: "the same" adopts it,
    "different" creates a new item. Another merchant's product or VK item is a 404."""
    from sync.adoptions import AdoptionNotFound, adoption_decide
    from sync.models import AdoptionVerdict

    verdict = request.POST.get("verdict") or ""
    try:
        vk_item_id = int(request.POST.get("vk_item_id") or "")
    except ValueError:
        vk_item_id = None
    if verdict not in AdoptionVerdict.values or vk_item_id is None:
        messages.error(request, _("The answer was not understood; choose one of the buttons."))
        return redirect("sync:preview")
    try:
        adoption_decide(
            user=request.user,
            store_id=store_id,
            product_id=product_id,
            vk_item_id=vk_item_id,
            verdict=verdict,
        )
    except AdoptionNotFound:
        raise Http404 from None
    if verdict == AdoptionVerdict.CONFIRMED:
        messages.success(request, _("Linked: the VK item will be updated, not duplicated."))
    else:
        messages.success(request, _("Noted: the product gets a new VK item of its own."))
    return redirect(reverse("sync:preview") + "#adoption-reviews")


def _confirmed_removals(request: HttpRequest) -> int:
    """The removals the merchant confirmed with the preview's check box: the count it showed
    (0 when not ticked). A run that would now remove more still stops and asks."""
    try:
        return max(0, int(request.POST.get("confirm_removals") or 0))
    except ValueError:
        return 0


def _vk_read_at(user):
    """When the VK Market was last read: edits made in VK after that are not known yet."""
    from vk_catalog.models import RefreshStatus, VkCatalogRefresh

    last = (
        VkCatalogRefresh.objects.filter(user=user, status=RefreshStatus.OK)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    return last
