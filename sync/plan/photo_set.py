"""An item's whole set of photos: the main one and up to 4 more (`photo_ids`,
docs/contracts/vk-market-api.md §3), in Evotor's order or the merchant's.

Which extra photos an item should have (`wanted_extras`), what to send for them
(`extras_to_send`: upload only the new ones, name the kept ones by their VK id), and how many
photos the preview says an item will have (`photo_counts`). The sending itself is
sync/publish/extra_photos.py.
"""

from __future__ import annotations

from sync.models import LinkState
from sync.plan.inputs import sync_settings_get
from sync.plan.photos import (
    MAX_EXTRA_PHOTOS,
    EvotorImage,
    PhotoKind,
    decode_evotor_image,
    load_fallbacks,
)
from sync.plan.rules import PhotoSource


def merchant_extras(user) -> dict[tuple[str, str], list[PhotoSource]]:
    """The products' further photos uploaded in EvoSync, in the merchant's order."""
    return load_fallbacks(user, sync_settings_get(user)).product_extras


def wanted_extras(link, merchant: dict) -> list[PhotoSource] | None:
    """The extra photos the item should have, in order; None while unknown. Evotor's pictures
    after the first; where Evotor has none, the product's further photos uploaded in EvoSync
    (`merchant`: (store id, product id) → sources, sync.plan.photos.load_fallbacks)."""
    if link.evotor_image == EvotorImage.NONE:
        return list(merchant.get((link.store_id, link.product_id), ()))[:MAX_EXTRA_PHOTOS]
    if link.evotor_image == EvotorImage.NOT_LOOKED or link.evotor_extra_images is None:
        return None
    sources = [decode_evotor_image(note) for note in link.evotor_extra_images]
    return [source for source in sources if source is not None][:MAX_EXTRA_PHOTOS]


def extras_to_send(wanted: list[PhotoSource], sent: list) -> list[tuple[str, int | None]] | None:
    """[(hash, VK photo id to keep, or None to upload)] for `wanted`; None when VK already has
    exactly these, in this order (`sent` is `ItemLink.extra_photos`)."""
    if not wanted:
        # No extra photo wanted: VK's `market.edit` has no documented way to clear
        # `photo_ids` (docs/contracts/vk-market-api.md §3; VK reads an empty parameter as not
        # given), so the ones VK has stay until the merchant replaces or removes them there.
        return None
    sent_pairs = [(str(h), int(i)) for h, i in (sent or [])]
    hashes = [source.photo_hash for source in wanted]
    if hashes == [h for h, _ in sent_pairs]:
        return None
    kept = dict(sent_pairs)
    return [(h, kept.get(h)) for h in hashes]


def photo_counts(
    items, links: dict, merchant: dict, evotor_pictures: dict | None = None
) -> dict[tuple[str, str], tuple[int, bool]]:
    """For the preview: (store id, product id) → (photos the item will have, whether its extra
    photos change), for plan items where it is known. A new item whose photo is Evotor's is
    counted from `evotor_pictures` (those the preview read, Plan.evotor_pictures), else left
    out. One with a photo of the merchant's while Evotor's list is unread
    (`desired.photo_unknown`) is counted as the merchant's: the page adds "unless Evotor has
    pictures", which come first at publish."""
    evotor_pictures = evotor_pictures or {}
    counts = {}
    for item in items:
        if item.skipped or item.desired is None:
            continue
        link = links.get(item.key)
        if link is not None and link.vk_item_id is not None:
            wanted = wanted_extras(link, merchant)
            if wanted is None:
                continue
            changed = extras_to_send(wanted, link.extra_photos) is not None
            counts[item.key] = (1 + len(wanted), changed)
            continue
        photo = item.photo
        if photo is not None and photo.kind == PhotoKind.EVOTOR:
            if item.key in evotor_pictures:
                pictures = evotor_pictures[item.key]
                counts[item.key] = (min(pictures, 1 + MAX_EXTRA_PHOTOS), pictures > 1)
            continue
        if photo is not None and photo.kind == PhotoKind.PRODUCT_PHOTO:
            extras = merchant.get(item.key, ())[:MAX_EXTRA_PHOTOS]
            counts[item.key] = (1 + len(extras), bool(extras))
        elif photo is not None and photo.kind != PhotoKind.EVOTOR:
            counts[item.key] = (1, False)
    return counts


def extras_pending(links, merchant: dict) -> int:
    """How many items in VK will get other extra photos at the next run (a picture added,
    replaced, removed or moved), as far as known without reading Evotor."""
    pending = 0
    for link in links:
        if link.vk_item_id is None or link.state not in (LinkState.PUBLISHED, LinkState.HIDDEN):
            continue
        wanted = wanted_extras(link, merchant)
        if wanted is not None and extras_to_send(wanted, link.extra_photos) is not None:
            pending += 1
    return pending
