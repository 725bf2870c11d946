"""The ItemLink state machine: every change of a link's publishing state is written here once.

    pending ──mark_creating──▶ creating ──created──▶ published / hidden
       ▲                          │  (answer lost: stays creating; the next run looks the sku
       │                          │   up in VK: adopt() if VK made it, back to pending if not)
       └────────forget_vk_item────┘◀── VK says the item is gone (1403, too late to restore)

A link is written `creating` (sku and fields being sent) BEFORE `market.add` leaves, so a run
that dies in between never loses an item nor makes it twice (docs/contracts/vk-market-api.md §11: VK has no
dedup key of its own). These functions change the object only; the caller saves it
(sync.publish.records.save_links).
"""

from __future__ import annotations

from django.utils import timezone

from sync.models import ItemLink, LinkState
from sync.plan.ownership import EDIT_CHANGE_KEYS
from sync.plan.photos import PhotoMark
from sync.plan.snapshots import VkItemSnapshot


def forget_vk_item(link: ItemLink) -> None:
    """The VK item is gone (deleted by hand, or too late to restore): the next run creates it
    again from scratch."""
    link.vk_item_id = None
    link.state = LinkState.PENDING
    link.published_fields = {}
    link.album_ids = []
    link.photo_hash = ""
    link.vk_edits = {}


def adopt(
    link: ItemLink, vk: VkItemSnapshot, *, managed_albums: set[int], made_by_us: bool = False
) -> None:
    """Link an existing VK item; VK's own values become what is published.

    The one adoption of the engine, for both ways an item is found in VK:
    - the merchant's own item (first publish, same sku or name): `adopted`, and it keeps the
      merchant's VK photo (`PhotoMark.KEEP_VK`) until they upload one for the product here;
    - our own item whose `market.add` answer was lost (`made_by_us`, the link was `creating`):
      not the merchant's, so the photo we uploaded stays recorded and later Evotor photo
      changes still reach VK.
    The item counts as in our albums only where VK already has it there.
    """
    link.vk_item_id = vk.vk_id
    link.state = LinkState.HIDDEN if vk.hidden else LinkState.PUBLISHED
    link.published_fields = {**vk.as_fields(), "hidden": vk.hidden}
    if not made_by_us:
        link.adopted = True
        link.photo_hash = PhotoMark.KEEP_VK
    link.album_ids = sorted(set(vk.album_ids) & managed_albums)
    link.published_at = link.published_at or timezone.now()
    link.last_error = ""
    link.error_count = 0


def send_back_to_create(link: ItemLink) -> None:
    """A `creating` link whose item VK never made: created again on the next run."""
    link.state = LinkState.PENDING
    link.published_fields = {}
    link.photo_hash = ""


def mark_creating(link: ItemLink, *, sku: str, fields: dict, hidden: bool, photo_hash: str) -> None:
    """About to send `market.add`: remember what goes out, so a lost answer can be resolved."""
    link.state = LinkState.CREATING
    link.sku = sku or link.sku
    link.published_fields = {**fields, "hidden": hidden}
    link.photo_hash = photo_hash


def mark_not_sent(link: ItemLink) -> None:
    """A `market.add` that certainly did not reach VK: back to pending."""
    link.state = LinkState.PENDING


def remember_evotor_image(link: ItemLink, *, note: str, source_hash: str) -> None:
    """What Evotor's image list said for the product at `source_hash`."""
    link.evotor_image = note
    link.source_hash = source_hash


def remember_evotor_extras(link: ItemLink, notes: list[str]) -> None:
    """Evotor's pictures after the first, as the list read for the product said."""
    link.evotor_extra_images = notes


def record_extra_photos(link: ItemLink, pairs: list[list]) -> None:
    """The extra photos a new item was made with ([hash, VK photo id] each, in order): what
    sync/publish/extra_photos.py compares with the pictures wanted."""
    link.extra_photos = pairs


def mark_deleted(link: ItemLink) -> None:
    link.state = LinkState.DELETED
    link.published_fields = {**link.published_fields, "hidden": True}
    link.album_ids = []


def mark_already_deleted(link: ItemLink) -> None:
    """Deleting an item VK no longer has: nothing left to delete."""
    link.state = LinkState.DELETED


def mark_applied(
    link: ItemLink,
    *,
    vk_item_id: int | None,
    sent_fields: dict,
    set_hidden: bool | None,
    photo_hash: str | None,
    vk_photo_id: int | None,
) -> None:
    """VK accepted a market.add (`vk_item_id` given: a new item) or market.edit/restore."""
    if vk_item_id is not None:
        link.vk_item_id = vk_item_id
        link.published_fields = {}
        link.album_ids = []
        link.vk_edits = {}
    # What was just sent is EvoSync's again: an edit made in VK to it is overwritten.
    sent = {*sent_fields, *(["photo"] if photo_hash is not None else [])}
    link.vk_edits = {
        name: value
        for name, value in (link.vk_edits or {}).items()
        if not sent & set(EDIT_CHANGE_KEYS.get(name, ()))
    }
    fields = {**link.published_fields, **sent_fields}
    hidden = set_hidden if set_hidden is not None else bool(fields.get("hidden"))
    fields["hidden"] = hidden
    link.published_fields = fields
    link.state = LinkState.HIDDEN if hidden else LinkState.PUBLISHED
    if photo_hash is not None:
        link.photo_hash = photo_hash
        link.vk_photo_id = vk_photo_id
    link.published_at = link.published_at or timezone.now()


def clear_error(link: ItemLink, *, sku: str) -> None:
    link.sku = sku or link.sku
    link.last_error = ""
    link.error_count = 0


def mark_refused(link: ItemLink, message: str) -> None:
    """VK refused the item: its message stays on the link; tried again next run. A link with
    no VK item yet is `failed`; a published one keeps its state (VK still shows it)."""
    if link.vk_item_id is None:
        link.state = LinkState.FAILED
    record_refusal(link, message)


def record_refusal(link: ItemLink, message: str) -> None:
    link.last_error = message
    link.error_count += 1
