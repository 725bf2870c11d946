"""Edits made in VK, noticed after each VK catalog read (sync/plan/ownership.py says what a
run then does with them).

The read leaves the community's items in the VK catalog cache (`VkCachedProduct`). For every
item EvoSync published, what VK shows is compared with what EvoSync last sent (the link's
`published_fields`, `vk_photo_id` and `album_ids`): a field that differs was edited in VK. It is
recorded on the link (`vk_edits`: {field: what VK shows}), and the link's published value
becomes VK's, since that is what the item now is. The planner's ordinary diff then sends
Evotor's value back where Evotor owns the field, and leaves it where VK does.

An edit stays recorded while VK still shows the edited value, and goes once EvoSync has put its
own value back (or the merchant changed it again: then the new value is recorded).

A link written after the read started (a run published it meanwhile) is left for the next
read: the cache may show it as it was before the run. Each changed link is written with a
conditional UPDATE on its `updated_at`, so a run saving the link at the same moment wins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from sync.models import AlbumLink, ItemLink, LinkState
from sync.plan.photos import PhotoMark
from sync.plan.rules import price_text

logger = logging.getLogger(__name__)


@dataclass
class LinkView:
    """What a link says EvoSync last published (and the edits it knows of)."""

    published_fields: dict
    album_ids: list[int]
    photo_hash: str
    vk_photo_id: int | None
    vk_edits: dict


@dataclass(frozen=True)
class VkView:
    """What VK shows for the item (a `VkCachedProduct` row)."""

    title: str
    description: str
    price: object
    old_price: object
    main_photo_id: int | None
    album_ids: tuple[int, ...]


def _text(value) -> str:
    """Text as compared: line endings and trailing spaces do not count. The contract notes do
    not say whether VK gives a description back exactly as sent; a real service plausibly
    normalises line endings and trims, and counting that as an edit would make an
    Evotor-owned field be sent again after every read."""
    lines = (value or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def _same_text(a, b) -> bool:
    return _text(a) == _text(b)


def _money(value) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def _price_pair(price, old_price) -> list:
    return [price_text(price), price_text(old_price) if old_price else None]


def edits_seen(link: LinkView, vk: VkView, *, managed_albums: set[int]) -> LinkView:
    """The link after comparing it with VK: the edits VK shows now, and VK's values as the
    published ones. Pure."""
    published = dict(link.published_fields)
    before = link.vk_edits
    edits: dict = {}

    def note(name: str, vk_value, differs: bool) -> None:
        if differs or (name in before and before[name] == vk_value):
            edits[name] = vk_value

    for name, vk_value in (("name", vk.title), ("description", vk.description)):
        differs = not _same_text(published.get(name), vk_value)
        note(name, vk_value, differs)
        if differs:
            published[name] = vk_value

    prices = _price_pair(vk.price, vk.old_price)
    differs = _money(published.get("price")) != _money(prices[0]) or _money(
        published.get("old_price")
    ) != _money(prices[1])
    note("price", prices, differs)
    if differs:
        published["price"], published["old_price"] = prices

    photo_hash, vk_photo_id = link.photo_hash, link.vk_photo_id
    ours = link.vk_photo_id is not None and link.photo_hash != PhotoMark.KEEP_VK
    if ours and vk.main_photo_id is not None:
        differs = vk.main_photo_id != link.vk_photo_id
        note("photo", vk.main_photo_id, differs)
        if differs:
            photo_hash, vk_photo_id = PhotoMark.EDITED_IN_VK, vk.main_photo_id

    album_ids = sorted(link.album_ids)
    in_vk = sorted(set(vk.album_ids) & managed_albums)
    differs = in_vk != album_ids
    note("albums", in_vk, differs)
    if differs:
        album_ids = in_vk

    return LinkView(
        published_fields=published,
        album_ids=album_ids,
        photo_hash=photo_hash,
        vk_photo_id=vk_photo_id,
        vk_edits=edits,
    )


def item_links_note_vk_edits(*, user, read_started_at) -> int:
    """Compare the merchant's published items with the VK catalog cache just read, and record
    the edits made in VK on their links. Returns how many links changed."""
    from vk_catalog.models import VkCachedProduct

    links = list(
        ItemLink.objects.filter(
            user=user,
            vk_item_id__isnull=False,
            state__in=(LinkState.PUBLISHED, LinkState.HIDDEN),
            updated_at__lt=read_started_at,
        ).only(
            "vk_item_id",
            "published_fields",
            "album_ids",
            "photo_hash",
            "vk_photo_id",
            "vk_edits",
            "updated_at",
        )
    )
    if not links:
        return 0
    managed = set(AlbumLink.objects.filter(user=user).values_list("vk_album_id", flat=True))
    rows = {
        row["vk_id"]: row
        for row in VkCachedProduct.objects.filter(user=user, is_removed=False).values(
            "vk_id", "title", "description", "price", "old_price", "main_photo_id", "album_ids"
        )
    }
    now = timezone.now()
    changed = 0
    for link in links:
        row = rows.get(link.vk_item_id)
        if row is None:
            continue  # gone from VK: the run finds out (and makes it again) itself
        current = LinkView(
            published_fields=dict(link.published_fields or {}),
            album_ids=[int(a) for a in link.album_ids or ()],
            photo_hash=link.photo_hash,
            vk_photo_id=link.vk_photo_id,
            vk_edits=dict(link.vk_edits or {}),
        )
        vk = VkView(
            title=row["title"],
            description=row["description"],
            price=row["price"],
            old_price=row["old_price"],
            main_photo_id=row["main_photo_id"],
            album_ids=tuple(int(a) for a in row["album_ids"] or ()),
        )
        seen = edits_seen(current, vk, managed_albums=managed)
        if seen == current:
            continue
        changed += ItemLink.objects.filter(pk=link.pk, updated_at=link.updated_at).update(
            published_fields=seen.published_fields,
            album_ids=seen.album_ids,
            photo_hash=seen.photo_hash,
            vk_photo_id=seen.vk_photo_id,
            vk_edits=seen.vk_edits,
            updated_at=now,
        )
    if changed:
        logger.info("edits made in VK noticed", extra={"user_id": user.pk, "links": changed})
    return changed
