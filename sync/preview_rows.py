"""What the preview shows for each plan item: its changes in words, its flags, its picture, its
photo count, and the fields left as VK has them; the items of a product with variants gathered
into one row (sync/preview_variants.py). sync/views_preview.py renders them."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from evosync.formats import money_text
from sync import preview_variants
from sync.categories import vk_categories
from sync.preview_pictures import picture_key, plan_pictures
from sync.templatetags.sync_tags import FIELD_LABELS, FLAGS, category_label

PHOTO_KINDS = {
    "evotor": gettext_lazy("the photo from Evotor"),
    "product_photo": gettext_lazy("your photo of the product"),
    "group_photo": gettext_lazy("your photo of the group"),
    "default_photo": gettext_lazy("your default photo"),
    "site_default": gettext_lazy("EvoSync's placeholder photo"),
}
# Why a VK-owned field is left as VK has it (sync.plan.ownership.KEPT_*).
KEPT_REASONS = {
    "edited_in_vk": gettext_lazy("edited in VK, the field belongs to VK"),
    "vk_owned": gettext_lazy("changed in Evotor, but the field belongs to VK"),
}
REASONS = {
    "out_of_stock": gettext_lazy("out of stock or not on sale"),
    "removed_at_till": gettext_lazy("removed at the till"),
    "filtered_out": gettext_lazy("its store or group is switched off here"),
}


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    old: object
    new: object


@dataclass(frozen=True)
class Flag:
    code: str
    text: str
    fix_url: str = ""
    fix_label: str = ""


@dataclass(frozen=True)
class Row:
    """One plan item as the page shows it."""

    item: object
    changes: list[Change]
    flags: list[Flag]
    reason: str
    picture: object = None  # ItemPicture
    # Labels of the fields edited in VK that this publish puts back to Evotor's values.
    overwritten: list[str] = ()
    # Why a modification is published as a separate item (sync/preview_variants.py).
    separate: str = ""
    # (photos the item will have in VK, whether its extra photos change), where known.
    photos: tuple[int, bool] | None = None


@dataclass(frozen=True)
class KeptRow:
    """An item whose VK-owned fields the publish leaves as VK has them, with why."""

    kept: object  # sync.plan.ownership.KeptFields
    notes: list[str]


def kept_rows(kept_items) -> list[KeptRow]:
    return [
        KeptRow(
            kept=kept,
            notes=[
                f"{FIELD_LABELS.get(name, name)}: {KEPT_REASONS.get(why, why)}"
                for name, why in kept.fields.items()
            ],
        )
        for kept in kept_items
    ]


def _value(field: str, value, category_names: dict[int, str]):
    if field == "photo":
        return PHOTO_KINDS.get(value, value) if value else None
    if field in ("visible", "deleted"):
        return _("yes") if value else _("no")
    if field in ("price", "old_price") and value not in (None, ""):
        return money_text(value)
    if field == "category_id" and value is not None:
        return category_names.get(value) or category_label(value)
    if field == "stock_amount" and value == -1:
        return _("not shown")
    return value


def _changes(item, category_names) -> list[Change]:
    changes = []
    for field, pair in (item.changes or {}).items():
        old, new = (None, pair)
        if isinstance(pair, list | tuple):
            old, new = (*pair, None, None)[:2]
        if field == "photo" and old:
            old = _("the current photo")
        changes.append(
            Change(
                field=field,
                label=str(FIELD_LABELS.get(field, field)),
                old=_value(field, old, category_names),
                new=_value(field, new, category_names),
            )
        )
    return changes


def _flags(item, *, preview_url: str) -> list[Flag]:
    flags = []
    for code in item.flags:
        fix_url = fix_label = ""
        if code == "no_photo":
            fix_url = (
                reverse("sync:photo_upload", args=[item.store_id, "product", item.product_id])
                + "?"
                + urlencode({"next": preview_url})
            )
            fix_label = _("Upload a photo")
        elif code == "no_category":
            fix_url, fix_label = reverse("sync:settings"), _("Choose a category")
        flags.append(Flag(code, str(FLAGS.get(code, code)), fix_url, fix_label))
    return flags


def rows(items, category_names, *, preview_url: str, user, evotor_pictures=None) -> list[Row]:
    pictures = plan_pictures(user, items)
    photos = photo_counts_of(user, items, evotor_pictures)
    return [
        Row(
            item=item,
            changes=_changes(item, category_names),
            flags=_flags(item, preview_url=preview_url),
            reason=str(REASONS.get(item.reason, item.reason)) if item.reason else "",
            picture=pictures[picture_key(item)],
            overwritten=[str(FIELD_LABELS.get(name, name)) for name in item.overwrites],
            photos=photos.get(item.key),
        )
        for item in items
    ]


def unit_rows(plan, units, category_names, *, preview_url: str, user) -> list:
    """The rows of a section's `units` (sync.preview_variants.units: a product with variants is
    one unit, so one row listing its variants; any other item a row of its own)."""
    shown = [item for unit in units for item in unit]
    made = rows(
        shown,
        category_names,
        preview_url=preview_url,
        user=user,
        evotor_pictures=plan.evotor_pictures,
    )
    return preview_variants.grouped(plan, made)


def extras_pending(user) -> int:
    from sync.models import ItemLink
    from sync.plan.inputs import sync_settings_get
    from sync.plan.photo_set import extras_pending
    from sync.plan.photos import PhotoMark, load_fallbacks

    links = ItemLink.objects.filter(user=user, vk_item_id__isnull=False).exclude(
        photo_hash=PhotoMark.KEEP_VK
    )
    merchant = load_fallbacks(user, sync_settings_get(user)).product_extras
    return extras_pending(links, merchant)


def photo_counts_of(user, items, evotor_pictures=None) -> dict:
    """How many photos the page's items will have in VK (sync.plan.photo_set)."""
    from sync.models import ItemLink
    from sync.plan.inputs import sync_settings_get
    from sync.plan.photo_set import photo_counts
    from sync.plan.photos import load_fallbacks

    keys = {item.key for item in items}
    if not keys:
        return {}
    links = {
        (link.store_id, link.product_id): link
        for link in ItemLink.objects.filter(
            user=user, product_id__in={product for _store, product in keys}
        )
    }
    merchant = load_fallbacks(user, sync_settings_get(user)).product_extras
    return photo_counts(items, links, merchant, evotor_pictures)


def category_names(user, plan) -> dict[int, str]:
    wanted = any("category_id" in (item.changes or {}) for item in plan.items)
    if not wanted:
        return {}
    categories = vk_categories(user).choices
    return {value: label for _group, options in categories for value, label in options}
