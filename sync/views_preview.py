"""The preview: what the next run would do to VK, before anything is written, and "Publish".

A merchant's first publish always goes through here (docs/contracts/competitors.md §4.2: nobody else shows a
diff before writing). The plan comes from the engine (`sync.plan.preview.sync_run_preview`) and is built
from the cached catalogs (plus, for at most 200 new products whose only photo is Evotor's, a
bounded read of Evotor's image lists), so the page stays reasonably quick; for big catalogs it
lists the counts and the first few items of each action, with a paginated "show all" per action.
New items whose Evotor photo is still unknown are announced as "checked at publish".

When the removal guard would hold the run, "Publish" carries a required tick confirming the
number of removals shown; the run then goes through unless its plan removes more by then.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from sync import preview_rows, selectors
from sync.models import RunTrigger
from sync.preview_pictures import evotor_photo_thumbnail
from sync.views import url_or_empty

ITEMS_PER_ACTION = 10
ITEMS_PER_PAGE = 50

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
    from catalog.filters import enabled_store_ids
    from sync.plan.preview import sync_run_preview

    user = request.user
    plan = sync_run_preview(user=user)
    preview_url = reverse("sync:preview")
    names = preview_rows.category_names(user, plan)
    action = request.GET.get("action") or ""
    if action not in ACTION_LABELS and action != "flagged":
        action = ""

    from sync.lifecycle import category_refusal

    connections = {c.vendor: c for c in selectors.connection_statuses(user)}
    context = {
        "plan": plan,
        "counts": plan.counts,
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
        "extras_pending": preview_rows.extras_pending(user),
    }
    if action:
        if action == "flagged":
            chosen = plan.flagged
            title = _("Not sent to VK")
        else:
            chosen = [i for i in plan.items if i.action == action and not i.skipped]
            title = ACTION_LABELS[action]
        # Paginated by rows: a product with variants is one row (sync/preview_variants.py).
        page, page_rows = preview_rows.page_rows(
            plan,
            chosen,
            names,
            page_number=request.GET.get("page"),
            per_page=ITEMS_PER_PAGE,
            preview_url=preview_url,
            user=user,
        )
        context.update(
            {"page": page, "section_title": title, "rows": page_rows, "item_count": len(chosen)}
        )
        return render(request, "sync/preview_action.html", context)

    sections = []
    for key, label, help_text in ACTION_SECTIONS:
        items = [i for i in plan.items if i.action == key and not i.skipped]
        if items:
            rows, more = preview_rows.section_rows(
                plan, items, names, limit=ITEMS_PER_ACTION, preview_url=preview_url, user=user
            )
            sections.append(
                {
                    "key": key,
                    "label": label,
                    "help": help_text,
                    "count": len(items),
                    "rows": rows,
                    "more": more,
                }
            )
    flagged = plan.flagged
    flagged_rows, flagged_more = preview_rows.section_rows(
        plan, flagged, names, limit=ITEMS_PER_ACTION, preview_url=preview_url, user=user
    )
    context.update(
        {
            "sections": sections,
            "flagged_count": len(flagged),
            "flagged_rows": flagged_rows,
            "flagged_more": flagged_more,
            "photos_missing": any("no_photo" in item.flags for item in flagged),
            "albums_new": [a for a in plan.albums_to_create if not a.adopt_vk_album_id],
            "albums_adopted": [a for a in plan.albums_to_create if a.adopt_vk_album_id],
            "vk_catalog_read": _vk_catalog_read(user),
            "vk_read_at": _vk_read_at(user),
            "kept_rows": preview_rows.kept_rows(plan.kept_in_vk[:ITEMS_PER_ACTION]),
            "kept_more": len(plan.kept_in_vk) - ITEMS_PER_ACTION,
            "overwritten_count": len(plan.vk_edits_overwritten),
        }
    )
    return render(request, "sync/preview.html", context)


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
    from sync.views import start_run_and_answer

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
    from django.contrib import messages
    from django.shortcuts import redirect

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
