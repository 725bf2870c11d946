"""A new item's photos got ready together in one pool thread: the main one and its extra
photos (`photo_ids`, at most 4; docs/contracts/vk-market-api.md §3), issue 14 part 2.

The main photo is prepared as before (sync/publish/photo_prep.py). Where that read Evotor's
image list, the extras come from the same read (Evotor's pictures after the first, in its
order), so a new item's list is read once in a first publish. Where Evotor has no picture,
the extras are the product's further photos uploaded in EvoSync. Each extra is normalized
within the same memory budget as the main photos (photo_prep.MemoryBudget).

An extra that cannot be read or normalized costs only itself and the ones after it: the item
goes with the photos that were ready, and its link records none as sent, so the extra-photo
step (sync/publish/extra_photos.py) sends the set once the pictures can be read.

Runs in a pool thread: no database access (the caller decides `extras` in the main thread).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from connections.evotor_client import EvotorAuthError, EvotorError
from connections.vk_photos import InvalidImageError, UnusableImage
from sync.plan.photos import (
    MAX_EXTRA_PHOTOS,
    PhotoKind,
    decode_evotor_image,
    encode_extra_images,
    read_photo_bytes,
)
from sync.plan.rules import PhotoSource
from sync.publish import photo_prep

logger = logging.getLogger(__name__)


@dataclass
class PreparedPhotos:
    """One item's photos, ready to upload: the main one first."""

    jpeg: bytes
    source: PhotoSource
    evotor_image: str | None  # the note of Evotor's first picture, when the list was read
    evotor_extras: list[str] | None = None  # Evotor's pictures after the first, when read
    extra_sources: list[PhotoSource] = field(default_factory=list)
    extra_jpegs: list[bytes] = field(default_factory=list)


class _RememberingEvotor:
    """The Evotor client as `prepare_photo` sees it, keeping the image list it read, so the
    extras come from that same answer."""

    def __init__(self, client):
        self.client = client
        self.images = None

    def list_product_images(self, store_id: str, product_id: str):
        self.images = self.client.list_product_images(store_id, product_id)
        return self.images

    def download_image(self, url: str) -> bytes:
        return self.client.download_image(url)


def prepare_item_photos(
    item,
    evotor_client,
    cache: dict,
    budget: photo_prep.MemoryBudget | None = None,
    *,
    with_extras: bool = False,
    extras: list[PhotoSource] | None = None,
    merchant_extras: list[PhotoSource] = (),
) -> PreparedPhotos:
    """The item's main photo and, `with_extras`, its extra ones. `extras` as already known
    (None: Evotor's image list decides, read here if `prepare_photo` did not);
    `merchant_extras`: the product's further photos uploaded in EvoSync, for when Evotor has
    no picture. Raises what `prepare_photo` raises (the main photo decides the item's fate)."""
    evotor = _RememberingEvotor(evotor_client) if evotor_client is not None else None
    jpeg, source, evotor_note = photo_prep.prepare_photo(item, evotor, cache, budget)
    prepared = PreparedPhotos(jpeg=jpeg, source=source, evotor_image=evotor_note)
    if not with_extras:
        return prepared
    if extras is None:
        extras = _extras_from_evotor(item, evotor, source, merchant_extras, prepared)
    prepared.extra_sources, prepared.extra_jpegs = _prepare_extras(
        extras[:MAX_EXTRA_PHOTOS], evotor_client, budget, item
    )
    return prepared


def _extras_from_evotor(item, evotor, main: PhotoSource, merchant_extras, prepared):
    """Evotor's pictures after the first; the merchant's own where Evotor has none."""
    images = evotor.images if evotor is not None else None
    if images is None and evotor is not None and main.kind == PhotoKind.EVOTOR:
        # The main photo was known without a read (a link that had it): read the list once.
        try:
            images = evotor.list_product_images(item.store_id, item.product_id)
        except EvotorAuthError:
            raise
        except EvotorError:
            return []  # the extra-photo step tries again
    if images is None:
        return list(merchant_extras) if main.kind != PhotoKind.EVOTOR else []
    prepared.evotor_extras = encode_extra_images(images)
    if not images:
        return list(merchant_extras)
    return [s for s in map(decode_evotor_image, prepared.evotor_extras) if s is not None]


def _prepare_extras(sources, evotor_client, budget, item):
    """(sources, jpegs) of the extras that could be made ready, in order, stopping at the
    first that could not (a gap would shift the rest; Evotor's order must hold)."""
    ready_sources, jpegs = [], []
    for source in sources:
        try:
            data = read_photo_bytes(source, evotor_client)
            jpegs.append(photo_prep.normalize_within(budget, data))
        except EvotorAuthError:
            raise
        except (EvotorError, UnusableImage, InvalidImageError, OSError, MemoryError) as exc:
            logger.info(
                "an extra photo is left to the extra-photo step",
                extra={"product_id": item.product_id, "error": type(exc).__name__},
            )
            break
        ready_sources.append(source)
    return ready_sources, jpegs
