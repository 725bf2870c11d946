"""The pictures beside the preview's products, and the small copies of Evotor's photos they show.

A row shows the photo the run would send (a new item, or a changed photo), else what VK shows
now (the same thumbnail and "Open in VK" link as the run details and the VK catalog pages:
`sync.pictures.item_pictures`), else the photo the product has.

Evotor's photos are never linked straight from the page: the image URL Evotor gives may sit on
its API host, which wants the merchant's token (docs/contracts/evotor-api.md §3.1, §5.4), and
the site's Content-Security-Policy allows images from the site and VK only. The page links to
`sync:evotor_photo` instead, which reads the picture with the merchant's own client (the token
goes only to Evotor's API origin, `EvotorClient.download_image`) and answers an 80-pixel JPEG.
The Evotor image id is part of that URL, so a copy never goes stale: a new picture at the till
has a new id (§5.4), hence a new URL.
"""

from __future__ import annotations

import hashlib
import io
import logging

from django.core.cache import cache
from django.urls import reverse
from PIL import Image, UnidentifiedImageError

from sync.pictures import ItemPicture, item_pictures
from sync.plan.photos import PhotoKind

logger = logging.getLogger(__name__)

THUMBNAIL_SIDE = 80  # twice the 40 CSS pixels of `.thumb-sm`, for sharp phones
THUMBNAIL_CACHE_SECONDS = 24 * 3600


def _vk_id(item) -> int | None:
    """The VK item a row is about: its own, or the one it would adopt."""
    return item.vk_item_id or (item.adopt_from.vk_id if item.adopt_from else None)


def picture_key(item) -> tuple[str, str, int | None]:
    return (item.store_id, item.product_id, _vk_id(item))


def photo_url(item, source) -> str:
    """Where the page can show `source`, a `PhotoSource` of `item`'s product ('' if nowhere)."""
    if source is None:
        return ""
    key = source.fingerprint.split(":")[1] if ":" in source.fingerprint else ""
    if source.kind == PhotoKind.EVOTOR and key:
        return reverse("sync:evotor_photo", args=[item.store_id, item.product_id, key])
    if source.kind in (PhotoKind.PRODUCT_PHOTO, PhotoKind.GROUP_PHOTO) and key.isdigit():
        return reverse("sync:photo_image", args=[int(key)])
    if source.kind == PhotoKind.DEFAULT_PHOTO:
        return reverse("sync:default_photo_image")
    return ""  # EvoSync's own placeholder: the row's empty-picture icon says as much


def plan_pictures(user, items) -> dict[tuple, ItemPicture]:
    """`ItemPicture`s of plan items by `picture_key`, in the queries of `item_pictures`."""
    keys = [picture_key(item) for item in items]
    known = item_pictures(user, keys)
    pictures = {}
    for item, key in zip(items, keys, strict=True):
        picture = known[key]
        # Unread Evotor image lists (`photo_unchecked`) leave only the fallback: not shown as
        # if it were the product's photo.
        desired = item.desired.photo if item.desired and not item.desired.photo_unknown else None
        thumb = photo_url(item, item.photo) or picture.thumb_url or photo_url(item, desired)
        pictures[key] = ItemPicture(thumb_url=thumb, vk_url=picture.vk_url)
    return pictures


def evotor_photo_cache_key(user, store_id: str, product_id: str, image_id: str) -> str:
    # Hashed: the ids come from the URL, and some cache backends refuse odd characters.
    ids = hashlib.sha256(f"{store_id}\n{product_id}\n{image_id}".encode()).hexdigest()
    return f"sync:evotor-photo:{user.pk}:{ids}"


def evotor_photo_thumbnail(*, user, store_id: str, product_id: str, image_id: str) -> bytes | None:
    """A small JPEG of the merchant's product's Evotor picture `image_id`, or None when the
    product is not theirs, has no such picture now, or Evotor did not send it.

    Kept in the cache for a day per merchant and image (a picture's id changes with it)."""
    from catalog.models import CachedProduct
    from connections.evotor_client import EvotorError
    from sync.clients import evotor_client_for

    cache_key = evotor_photo_cache_key(user, store_id, product_id, image_id)
    cached = cache.get(cache_key)
    if cached is not None:
        return cached
    if not CachedProduct.objects.filter(
        user=user, store_evotor_id=store_id, evotor_id=product_id
    ).exists():
        return None
    evotor = evotor_client_for(user)
    if evotor is None:
        return None
    try:
        image = next(
            (i for i in evotor.list_product_images(store_id, product_id) if i.id == image_id),
            None,
        )
        if image is None:
            return None
        data = _thumbnail(evotor.download_image(image.url))
    except EvotorError as exc:
        # The texts are generic (never a token); the row shows its empty-picture icon.
        logger.info("Evotor photo for the preview not read", extra={"error": str(exc)})
        return None
    if data is not None:
        cache.set(cache_key, data, THUMBNAIL_CACHE_SECONDS)
    return data


def _thumbnail(data: bytes) -> bytes | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            # Transparent parts on white, as the page's thumbnail frame is.
            flat = Image.new("RGB", image.size, (255, 255, 255))
            rgba = image.convert("RGBA")
            flat.paste(rgba, mask=rgba.getchannel("A"))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        return None
    buffer = io.BytesIO()
    flat.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()
