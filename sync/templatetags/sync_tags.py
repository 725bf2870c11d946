"""Template helpers of the publishing pages (the alert banners every page shows come from
`sync.context_processors.alert_banners`)."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from evosync.formats import money_text
from sync import reasons
from sync.models import RunStatus

register = template.Library()


def category_label(category_id) -> str:
    """A VK category by its name (the built-in list of VK's categories), else its number."""
    from sync.categories import FALLBACK_CATEGORIES, category_name

    try:
        number = int(category_id)
    except (TypeError, ValueError):
        return str(category_id)
    return category_name(FALLBACK_CATEGORIES, number) or _("category %(id)s") % {"id": number}


# The VK fields (and pseudo-fields) a plan or a run item lists as old → new.
FIELD_LABELS = {
    "name": pgettext_lazy("VK item field", "Name"),
    "description": pgettext_lazy("VK item field", "Description"),
    "price": pgettext_lazy("VK item field", "Price"),
    "old_price": pgettext_lazy("VK item field", "Old price"),
    "category_id": pgettext_lazy("VK item field", "Category"),
    "sku": pgettext_lazy("VK item field", "Article (SKU)"),
    "stock_amount": pgettext_lazy("VK item field", "In stock"),
    "photo": pgettext_lazy("VK item field", "Photo"),
    "visible": pgettext_lazy("VK item field", "Shown in VK"),
    "albums": pgettext_lazy("VK item field", "Albums"),
    "deleted": pgettext_lazy("VK item field", "Deleted"),
    "vk_item_id": pgettext_lazy("VK item field", "VK item"),
}
# Why the planner would not send an item (sync.plan.rules FLAG_*), in the merchant's words.
FLAGS = reasons.FLAGS

STATUS_BADGES = {
    RunStatus.SUCCEEDED: "badge-ok",
    RunStatus.PARTIAL: "badge-warn",
    RunStatus.HELD: "badge-warn",
    RunStatus.STOPPED: "badge-err",
    RunStatus.FAILED: "badge-err",
}


@register.filter
def run_badge(status: str) -> str:
    """The badge class for a run status: green done, amber needs a look, red stopped."""
    return STATUS_BADGES.get(status, "")


@register.simple_tag
def run_problem(run):
    """Why a run is done with problems, and the link that fixes it (sync.selectors)."""
    from sync.selectors import run_problem as problem

    return problem(run)


@register.filter
def duration(value: timedelta | None) -> str:
    """A short human duration: “45 s”, “3 min 5 s”, “2 h 10 min”."""
    if value is None:
        return "—"
    seconds = max(0, int(value.total_seconds()))
    if seconds < 60:
        return _("%(s)d s") % {"s": seconds}
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return _("%(m)d min %(s)d s") % {"m": minutes, "s": seconds}
    hours, minutes = divmod(minutes, 60)
    return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}


@register.filter
def item_reason(error: str) -> str:
    """A run item's error for the merchant: the engine's reason codes in words, VK's text as is."""
    return reasons.reason_text(error)


@register.filter
def is_photo_problem(error: str) -> bool:
    """Whether a photo upload would fix the item (the page then links to the upload form)."""
    return reasons.is_photo_problem(error)


@register.filter
def field_label(field: str) -> str:
    return str(FIELD_LABELS.get(field, field))


@register.filter
def change_value(value, field: str = "") -> str:
    """One side of an old → new change, readable: lists joined, empty as a dash; with the
    field's name, prices as money and a category by its name."""
    if value is None or value == "":
        return "—"
    if field in ("price", "old_price"):
        return money_text(value)
    if field == "category_id":
        return category_label(value)
    if field == "stock_amount" and value == -1:
        return _("not shown")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)
