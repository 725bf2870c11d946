"""Field ownership: who has the last word on an item's name, description, photo and albums once
the item is in VK. Pure: plain data in and out.

"evotor" (the default, as before ownership existed): EvoSync keeps the field as Evotor says,
and overwrites an edit made in VK at the next run. "vk": EvoSync sets the field once, when it
creates the item, and never sends it again; the merchant edits it in VK. Price, availability and
stock are always Evotor's.

Edits made in VK are noticed by the VK catalog read (sync/vk_edits.py): it records them on the
link (`vk_edits`) and makes the link's published values what VK shows, so the ordinary diff of
sync/plan/item_plan.py sends Evotor's value back for an Evotor-owned field, and leaves a
VK-owned one alone. A field switched back to Evotor is then simply a field whose published
value differs from Evotor's: the next run sends it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sync.plan.album_index import AlbumIndex
from sync.plan.photos import PhotoMark
from sync.plan.rules import DesiredItem
from sync.plan.snapshots import LinkSnapshot, VkItemSnapshot

# The fields a merchant may give to VK (SyncSettings.vk_owned_fields).
OWNABLE_FIELDS = ("name", "description", "photo", "albums")
TEXT_FIELDS = ("name", "description")

# Why a VK-owned field is left alone on an item.
KEPT_EDITED_IN_VK = "edited_in_vk"  # the merchant edited it in VK
KEPT_VK_OWNED = "vk_owned"  # Evotor's value differs from VK's, and VK owns the field

# `vk_edits` key → the plan's change keys it covers.
EDIT_CHANGE_KEYS = {
    "name": ("name",),
    "description": ("description",),
    "price": ("price", "old_price"),
    "photo": ("photo",),
    "albums": ("albums",),
}


@dataclass(frozen=True)
class KeptFields:
    """An item whose VK-owned fields the run leaves as they are in VK, with why (preview)."""

    store_id: str
    product_id: str
    product_name: str
    vk_item_id: int | None
    # field → KEPT_*
    fields: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.store_id, self.product_id)


def _text_differs(old, new) -> bool:
    return (old or None) != (new or None)


def album_moves(
    item: DesiredItem, link: LinkSnapshot, albums: AlbumIndex, album_title: str
) -> tuple[str, list[int], set[int]]:
    """(album to add the item to by title, album ids to take it out of, the managed albums it
    is in now) for an item in VK."""
    target_album = albums.target_for(item, album_title)
    current = set(link.album_ids) & albums.managed_ids
    album_remove = sorted(a for a in current if a != target_album)
    album_add = ""
    if album_title and (target_album is None or target_album not in current):
        album_add = album_title
    return album_add, album_remove, current


def kept_fields(
    item: DesiredItem,
    link: LinkSnapshot,
    vk_owned: frozenset[str],
    *,
    albums: AlbumIndex,
    album_title: str,
) -> dict[str, str]:
    """The VK-owned fields of an item in VK that the run leaves alone and is worth telling
    about: edited in VK, or Evotor's value differs from the one VK shows."""
    kept: dict[str, str] = {}
    for name in OWNABLE_FIELDS:
        if name not in vk_owned:
            continue
        if name in link.vk_edits:
            kept[name] = KEPT_EDITED_IN_VK
            continue
        if name in TEXT_FIELDS:
            differs = _text_differs(link.published_fields.get(name), item.fields.get(name))
        elif name == "photo":
            differs = (
                item.photo is not None
                and link.photo_hash != PhotoMark.KEEP_VK
                and item.photo.photo_hash != link.photo_hash
            )
        else:
            album_add, album_remove, _current = album_moves(item, link, albums, album_title)
            differs = bool(album_add or album_remove)
        if differs:
            kept[name] = KEPT_VK_OWNED
    return kept


def kept_on_adoption(item: DesiredItem, vk: VkItemSnapshot, vk_owned: frozenset[str]) -> dict:
    """The VK-owned text fields an adopted item keeps although Evotor says otherwise."""
    theirs = vk.as_fields()
    return {
        name: KEPT_VK_OWNED
        for name in TEXT_FIELDS
        if name in vk_owned and _text_differs(theirs.get(name), item.fields.get(name))
    }


def overwritten_edits(link: LinkSnapshot, vk_owned: frozenset[str], changes: dict) -> list[str]:
    """The fields edited in VK that this run puts back to Evotor's value (Evotor owns them):
    the preview warns before publishing."""
    return [
        name
        for name in link.vk_edits
        if name not in vk_owned and any(k in changes for k in EDIT_CHANGE_KEYS.get(name, ()))
    ]


def kept_note(item: DesiredItem, vk_item_id: int | None, fields: dict) -> KeptFields:
    return KeptFields(
        store_id=item.store_id,
        product_id=item.product_id,
        product_name=item.product_name,
        vk_item_id=vk_item_id,
        fields=fields,
    )
