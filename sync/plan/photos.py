"""Where an item's photo comes from, and its bytes (docs/contracts/product.md: the photo rules).

The chain: the Evotor product image → a photo the merchant uploaded for the product → one
uploaded for its group (nearest ancestor first) → the merchant's default photo →
settings.VK_DEFAULT_PHOTO_PATH → none (the item is flagged and skipped). VK lets a photo id
belong to one item only, so every item gets its own upload, even of the same default image.

A `PhotoSource.fingerprint` names the photo and its version without reading it, so a sync can
tell "the photo changed" from the database alone; `ItemLink.photo_hash` keeps the hash of the
last one uploaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum

from django.conf import settings
from django.core.files.storage import default_storage

from connections.evotor_client import EvotorAuthError, EvotorError
from sync.plan.rules import PhotoSource


class PhotoKind(StrEnum):
    """Where a photo comes from (`PhotoSource.kind`), in the order they are tried."""

    EVOTOR = "evotor"
    PRODUCT_PHOTO = "product_photo"
    GROUP_PHOTO = "group_photo"
    DEFAULT_PHOTO = "default_photo"
    SITE_DEFAULT = "site_default"


class EvotorImage(StrEnum):
    """What `ItemLink.evotor_image` holds besides "<id> <url>" (Evotor's first image)."""

    NOT_LOOKED = ""  # nobody read Evotor's image list for this version of the product
    NONE = "-"  # Evotor has no image for it


class PhotoMark(StrEnum):
    """What `ItemLink.photo_hash` holds besides the hash of the photo last uploaded."""

    # An adopted item: the merchant's own VK photo stays until they upload one here.
    KEEP_VK = "vk"
    # The item's photo was replaced in VK (sync/vk_edits.py): not ours any more; an
    # Evotor-owned photo is uploaded again at the next run.
    EDITED_IN_VK = "vk-edited"


def evotor_source(image_id: str, url: str) -> PhotoSource:
    return PhotoSource(PhotoKind.EVOTOR, f"evotor:{image_id}", url)


def encode_evotor_image(image) -> str:
    """What a link remembers of Evotor's image list: "-" for none, else "<id> <url>"."""
    if image is None:
        return EvotorImage.NONE
    return f"{image.id} {image.url}"[:200]


# VK takes a main photo and at most this many more (`photo_ids`, docs/contracts/vk-market-api.md §3).
MAX_EXTRA_PHOTOS = 4


def encode_extra_images(images) -> list[str]:
    """What a link remembers of Evotor's pictures after the first (at most 4, in order)."""
    return [f"{image.id} {image.url}"[:200] for image in list(images)[1 : 1 + MAX_EXTRA_PHOTOS]]


def decode_evotor_image(value: str) -> PhotoSource | None:
    if not value or value == EvotorImage.NONE:
        return None
    image_id, _, url = value.partition(" ")
    return evotor_source(image_id, url)


def _file_source(kind: str, key: str, field_file, version: str) -> PhotoSource | None:
    if not field_file or not field_file.name:
        return None
    return PhotoSource(kind, f"{kind}:{key}:{field_file.name}:{version}", field_file.name)


@dataclass
class FallbackPhotos:
    """The merchant's uploaded photos and defaults, loaded once per plan."""

    product_photos: dict[tuple[str, str], PhotoSource]
    group_photos: dict[tuple[str, str], PhotoSource]
    default_photo: PhotoSource | None
    site_default: PhotoSource | None
    # A product's further uploaded photos, in the merchant's order (VK's `photo_ids`).
    product_extras: dict[tuple[str, str], list[PhotoSource]] = field(default_factory=dict)

    def for_product(
        self, store_id: str, product_id: str, group_chain: list[str]
    ) -> PhotoSource | None:
        source = self.product_photos.get((store_id, product_id))
        if source:
            return source
        for group_id in group_chain:
            source = self.group_photos.get((store_id, group_id))
            if source:
                return source
        return self.default_photo or self.site_default


def site_default_source() -> PhotoSource | None:
    path = settings.VK_DEFAULT_PHOTO_PATH
    if not path or not os.path.isfile(path):
        return None
    return PhotoSource(
        PhotoKind.SITE_DEFAULT, f"site_default:{path}:{int(os.path.getmtime(path))}", path
    )


def load_fallbacks(user, sync_settings) -> FallbackPhotos:
    from sync.models import PhotoEntity, ProductPhoto

    product_photos: dict[tuple[str, str], PhotoSource] = {}
    group_photos: dict[tuple[str, str], PhotoSource] = {}
    extras: dict[tuple[str, str], list[PhotoSource]] = {}
    for photo in ProductPhoto.objects.filter(user=user).order_by("position", "pk"):
        version = str(int(photo.uploaded_at.timestamp())) if photo.uploaded_at else "0"
        product = photo.entity_type == PhotoEntity.PRODUCT
        kind = PhotoKind.PRODUCT_PHOTO if product else PhotoKind.GROUP_PHOTO
        source = _file_source(kind, f"{photo.pk}", photo.image, version)
        if source is None:
            continue
        key = (photo.store_id, photo.entity_id)
        target = product_photos if product else group_photos
        if key not in target:
            target[key] = source  # the first in the merchant's order is the main photo
        elif product and len(extras.get(key, ())) < MAX_EXTRA_PHOTOS:
            extras.setdefault(key, []).append(source)
    version = str(int(sync_settings.updated_at.timestamp())) if sync_settings.updated_at else "0"
    default = _file_source(
        PhotoKind.DEFAULT_PHOTO, str(sync_settings.pk), sync_settings.default_photo, version
    )
    return FallbackPhotos(
        product_photos, group_photos, default, site_default_source(), product_extras=extras
    )


def read_photo_bytes(source: PhotoSource, evotor_client=None) -> bytes:
    """The original bytes of a photo source (Evotor download, or a stored file)."""
    if source.kind == PhotoKind.EVOTOR:
        if evotor_client is None:
            raise ValueError("An Evotor client is needed to download an Evotor image.")
        return evotor_client.download_image(source.ref)
    if source.kind == PhotoKind.SITE_DEFAULT:
        with open(source.ref, "rb") as handle:
            return handle.read()
    with default_storage.open(source.ref, "rb") as handle:
        return handle.read()


LOOKUP_THREADS = 6


def evotor_images_refresh(*, evotor, inputs) -> int:
    """Read Evotor's image list for published items whose product changed since it was last
    read (a few products per sync, usually), so the plan knows whether their photo changed.
    Writes what was seen on the links; returns how many were read. Raises EvotorAuthError."""
    from concurrent.futures import ThreadPoolExecutor

    from sync.models import ItemLink, LinkState

    wanted = [
        product
        for product in inputs.products
        if (link := inputs.links.get((product.store_id, product.product_id))) is not None
        and link.vk_item_id is not None
        and link.state != LinkState.CREATING
        and link.photo_hash != PhotoMark.KEEP_VK  # an adopted item keeps its own photo anyway
        and inputs.needs_evotor_lookup(product)
    ]
    if not wanted:
        return 0

    def look(product):
        try:
            images = evotor.list_product_images(product.store_id, product.product_id)
        except EvotorAuthError:
            raise
        except EvotorError:
            return product, None, None
        return product, encode_evotor_image(images[0] if images else None), images

    changed = []
    with ThreadPoolExecutor(max_workers=LOOKUP_THREADS) as pool:
        for product, note, images in pool.map(look, wanted):
            if note is None:
                continue  # Evotor did not answer: the photo counts as unchanged this time
            link = inputs.links[(product.store_id, product.product_id)]
            link.evotor_image = note
            link.evotor_extra_images = encode_extra_images(images)
            link.source_hash = product.source_hash
            changed.append(link)
    if changed:
        ItemLink.objects.bulk_update(
            changed, ["evotor_image", "evotor_extra_images", "source_hash"], batch_size=500
        )
    return len(wanted)


# The preview reads Evotor's image list for new items whose photo depends on it only when there
# are at most this many (more would make the page slow), and waits at most this long for them.
PREVIEW_LOOKUP_MAX = 200
PREVIEW_LOOKUP_SECONDS = 8.0
PREVIEW_LOOKUP_THREADS = 8


def evotor_images_peek(
    *,
    evotor,
    products: list,
    threads: int = PREVIEW_LOOKUP_THREADS,
    timeout: float = PREVIEW_LOOKUP_SECONDS,
) -> dict[tuple[str, str], tuple[str, int]]:
    """What Evotor's image list says for `products` now, for the preview: (store id, product
    id) → (the note a link would keep, "-" for none; how many pictures Evotor has). Writes
    nothing. Products Evotor did not answer for (an error, the token refused, or not within
    `timeout` seconds) are left out: their photo stays "checked at publish"."""
    from concurrent.futures import ThreadPoolExecutor, wait

    if not products:
        return {}

    def look(product):
        images = evotor.list_product_images(product.store_id, product.product_id)
        return encode_evotor_image(images[0] if images else None), len(images)

    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sync-preview")
    try:
        futures = {pool.submit(look, product): product for product in products}
        done, _pending = wait(futures, timeout=timeout)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    seen = {}
    for future in done:
        if future.exception() is not None:
            continue
        product = futures[future]
        seen[(product.store_id, product.product_id)] = future.result()
    return seen
