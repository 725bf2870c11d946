"""One product's part of a plan: compare the VK item it should be with what its link says was
published (or with the VK item it adopts), and say what to send. Pure: plain data in and out.

`plan_new` for a product with nothing in VK, `plan_existing` for one with an item there
(None when nothing changes), `plan_adoption` for a product taking over an existing VK item,
`plan_gone` for a link whose product is no longer selected or was removed at the till.
"""

from __future__ import annotations

from decimal import Decimal

from sync.models import LinkState, RemovalPolicy, RunAction
from sync.plan.album_index import AlbumIndex
from sync.plan.ownership import TEXT_FIELDS, album_moves, overwritten_edits
from sync.plan.plan import REASON_OUT_OF_STOCK, PlanItem
from sync.plan.rules import CONTENT_FIELDS, FLAG_NO_CATEGORY, FLAG_NO_PHOTO, DesiredItem
from sync.plan.snapshots import LinkSnapshot, VkItemSnapshot


def _published_view(fields: dict) -> dict:
    return {key: fields.get(key) for key in CONTENT_FIELDS}


def _norm(value):
    """Compare prices as numbers ("100" == "100.00"), everything else as is."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value))
    try:
        return Decimal(str(value)) if str(value).replace(".", "", 1).isdigit() else value
    except ArithmeticError:
        return value


def diff_fields(old: dict, new: dict, *, skip: set[str] = frozenset()) -> dict:
    """field → [old, new] for the VK fields that differ."""
    changes = {}
    for key in CONTENT_FIELDS:
        if key in skip:
            continue
        before, after = old.get(key), new.get(key)
        if key in ("price", "old_price"):
            if _norm(before) == _norm(after):
                continue
        elif key == "stock_amount":
            if before == after:  # 0 is a figure, not "empty"
                continue
        elif (before or None) == (after or None):
            continue
        changes[key] = [before, after]
    return changes


def item_for(item: DesiredItem, link: LinkSnapshot | None, **fields) -> PlanItem:
    """A plan item for a selected product (and its link, if it has one)."""
    return PlanItem(
        store_id=item.store_id,
        product_id=item.product_id,
        product_name=item.product_name,
        link_id=link.id if link else None,
        desired=item,
        **fields,
    )


def plan_new(item: DesiredItem, link: LinkSnapshot | None, album_title: str) -> PlanItem:
    """A product with no item in VK: create it with every field (flags may skip it)."""
    return item_for(
        item,
        link,
        action=RunAction.CREATE,
        changes={key: [None, value] for key, value in item.fields.items() if value or value == 0},
        send_fields=dict(item.fields),
        photo=item.photo,
        set_hidden=not item.visible,
        album_add=album_title,
        flags=list(item.flags),
        sku=item.fields["sku"],
    )


def plan_existing(
    item: DesiredItem,
    link: LinkSnapshot,
    albums: AlbumIndex,
    album_title: str,
    vk_owned: frozenset[str] = frozenset(),
) -> PlanItem | None:
    """A product whose item is in VK (or was, and we deleted it): only what changed is sent.

    A missing photo no longer matters (the item has one); a description we would only have
    generated never replaces an adopted item's own; a category VK has is kept when the merchant
    has none set; the fields VK owns (`vk_owned`, sync/plan/ownership.py) are never sent."""
    creation_only = {f for f in item.flags if f == FLAG_NO_PHOTO}
    flags = [f for f in item.flags if f not in creation_only]
    skip = {"description"} if link.adopted and item.description_generated else set()
    skip |= {name for name in TEXT_FIELDS if name in vk_owned}
    if "category_id" in link.published_fields and item.fields.get("category_id") is None:
        skip.add("category_id")
        flags = [f for f in flags if f != FLAG_NO_CATEGORY]
    changes = diff_fields(_published_view(link.published_fields), item.fields, skip=skip)
    send = {key: item.fields[key] for key in changes}
    photo = None
    photo_changed = item.photo is not None and item.photo.photo_hash != link.photo_hash
    if photo_changed and "photo" not in vk_owned:
        photo = item.photo
        changes["photo"] = [link.photo_hash or None, item.photo.kind]

    album_add, album_remove, current_albums = album_moves(item, link, albums, album_title)
    if "albums" in vk_owned:
        album_add, album_remove = "", []
    if album_add or album_remove:
        changes["albums"] = [
            sorted(albums.title_of.get(a, str(a)) for a in current_albums),
            [album_title] if album_title else [],
        ]

    restore_deleted = link.state == LinkState.DELETED
    if restore_deleted:
        if not item.visible:
            return None
        action, set_hidden = RunAction.RESTORE, False
        changes["visible"] = [False, True]
    elif item.visible and link.hidden:
        action, set_hidden = RunAction.RESTORE, False
        changes["visible"] = [False, True]
    elif not item.visible and not link.hidden:
        action, set_hidden = RunAction.HIDE, True
        changes["visible"] = [True, False]
    elif changes:
        action, set_hidden = RunAction.UPDATE, None
    else:
        return None
    return item_for(
        item,
        link,
        action=action,
        vk_item_id=link.vk_item_id,
        changes=changes,
        send_fields=send,
        photo=photo,
        set_hidden=set_hidden,
        restore_deleted=restore_deleted,
        album_add=album_add,
        album_remove=album_remove,
        flags=flags,
        reason=REASON_OUT_OF_STOCK if action == RunAction.HIDE else "",
        sku=link.sku,
        overwrites=overwritten_edits(link, vk_owned, changes),
    )


def plan_adoption(
    item: DesiredItem,
    link: LinkSnapshot | None,
    vk: VkItemSnapshot,
    album_title: str,
    target_album: int | None,
    vk_owned: frozenset[str] = frozenset(),
) -> PlanItem:
    """Adopt an existing VK item: link it, then change only what Evotor says differently.

    A description we would only have generated never replaces the merchant's own, and the
    item keeps its photo until the photo changes in Evotor or in the merchant's uploads. The
    item stays in the merchant's own albums. The fields VK owns stay as VK has them.
    """
    skip = {"description"} if item.description_generated else set()
    skip |= {name for name in TEXT_FIELDS if name in vk_owned}
    if item.fields.get("category_id") is None:
        skip.add("category_id")
    changes = diff_fields(vk.as_fields(), item.fields, skip=skip)
    send = {key: item.fields[key] for key in changes}
    set_hidden = None
    if item.visible and vk.hidden:
        set_hidden = False
        changes["visible"] = [False, True]
    elif not item.visible and not vk.hidden:
        set_hidden = True
        changes["visible"] = [True, False]
    album_add = ""
    in_album = target_album is not None and target_album in vk.album_ids
    if album_title and not in_album and "albums" not in vk_owned:
        album_add = album_title
        changes["albums"] = [[], [album_title]]
    return item_for(
        item,
        link,
        action=RunAction.ADOPT,
        vk_item_id=vk.vk_id,
        changes=changes,
        send_fields=send,
        set_hidden=set_hidden,
        album_add=album_add,
        flags=[f for f in item.flags if f not in (FLAG_NO_PHOTO, FLAG_NO_CATEGORY)],
        adopt_from=vk,
        sku=item.fields["sku"],
    )


def plan_gone(link: LinkSnapshot, *, reason: str, removal_policy: str) -> PlanItem | None:
    """A published item whose product is no longer selected or was removed at the till:
    hidden, or deleted when the merchant chose so; None when there is nothing to do."""
    common = dict(
        store_id=link.store_id,
        product_id=link.product_id,
        product_name=link.product_name or link.product_id,
        link_id=link.id,
        vk_item_id=link.vk_item_id,
        reason=reason,
        sku=link.sku,
    )
    if removal_policy == RemovalPolicy.DELETE:
        return PlanItem(action=RunAction.DELETE, changes={"deleted": [False, True]}, **common)
    if not link.hidden:
        return PlanItem(
            action=RunAction.HIDE, set_hidden=True, changes={"visible": [True, False]}, **common
        )
    return None
