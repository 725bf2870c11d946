"""The slow image scan: picture changes reach VK where only `since` polling brings changes.

Evotor's `since` filter reads products by their `updated_at` (docs/contracts/evotor-api.md §4);
a picture is a resource of its own (§3.1 `/products/{id}/images`, §5.4, with its own
`updated_at`), and nothing in the notes says replacing one moves the product's `updated_at`.
Evotor announces picture changes only as `ProductImage` events (§7.5), which the `push` and
`pull` intakes receive and `poll` never sees: with EVOTOR_INTAKE=poll alone, an image replaced
with nothing else changed would not reach VK until the product changed.

So on such deployments each whole run reads the image lists of one slice of the published
products (1/EVOTOR_IMAGE_SCAN_SLICES of them, by a stable hash of the product id; the slice
follows the clock in steps of SYNC_INTERVAL_SECONDS, so with the hourly whole run and 24
slices every product is looked at once a day). A list that differs from what the link last saw
goes through the same path as a `ProductImage` event (catalog.changes.
catalog_product_image_changed): the run's planning then reads that list and re-uploads only the
pictures that changed. Cost: one Evotor request per product per day at the defaults, no VK
request unless something changed; a replaced picture reaches VK within a day.
"""

from __future__ import annotations

import logging
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from catalog.changes import catalog_product_image_changed
from connections.evotor_client import EvotorAuthError, EvotorError
from sync.models import ItemLink, LinkState
from sync.plan.photos import (
    LOOKUP_THREADS,
    EvotorImage,
    PhotoMark,
    encode_evotor_image,
    encode_extra_images,
)
from sync.publish.work import EvotorStopped, Stop

logger = logging.getLogger(__name__)


def scan_needed() -> bool:
    """Only where picture events never arrive: the `poll` intake without `push` or `pull`."""
    intake = set(settings.EVOTOR_INTAKE)
    return settings.EVOTOR_IMAGE_SCAN_SLICES > 0 and intake == {"poll"}


def slice_now(now: datetime | None = None) -> int:
    slices = settings.EVOTOR_IMAGE_SCAN_SLICES
    step = max(60, settings.SYNC_INTERVAL_SECONDS)
    return int((now or timezone.now()).timestamp() // step) % slices


def in_slice(product_id: str, slot: int) -> bool:
    return zlib.crc32(product_id.encode()) % settings.EVOTOR_IMAGE_SCAN_SLICES == slot


def evotor_images_scan(*, user, evotor, now: datetime | None = None) -> tuple[int, int]:
    """Read the image lists of this slot's published products; mark the ones whose pictures
    changed as a `ProductImage` event would. Returns (lists read, products changed). Evotor
    refusing the token stops the run (`Stop`), as on any Evotor read of a run."""
    if evotor is None or not scan_needed():
        return 0, 0
    slot = slice_now(now)
    links = [
        link
        for link in ItemLink.objects.filter(
            user=user,
            vk_item_id__isnull=False,
            state__in=[LinkState.PUBLISHED, LinkState.HIDDEN],
        )
        .exclude(photo_hash=PhotoMark.KEEP_VK)
        .exclude(evotor_image=EvotorImage.NOT_LOOKED)
        .only("store_id", "product_id", "evotor_image", "evotor_extra_images")
        if in_slice(link.product_id, slot)
    ]
    if not links:
        return 0, 0

    def look(link):
        try:
            return link, evotor.list_product_images(link.store_id, link.product_id)
        except EvotorAuthError:
            raise
        except EvotorError:
            return link, None  # looked at again in a day

    changed = 0
    with ThreadPoolExecutor(max_workers=LOOKUP_THREADS, thread_name_prefix="sync-scan") as pool:
        try:
            seen = list(pool.map(look, links))
        except EvotorAuthError as exc:
            raise Stop(EvotorStopped(str(exc))) from None
    for link, images in seen:
        if images is None or not _differs(link, images):
            continue
        catalog_product_image_changed(
            user=user, store_evotor_id=link.store_id, product_id=link.product_id
        )
        changed += 1
    if changed:
        logger.info(
            "image scan found changed pictures",
            extra={"user_id": user.pk, "read": len(links), "changed": changed},
        )
    return len(links), changed


def _differs(link: ItemLink, images) -> bool:
    """Pictures compared by their ids (a new picture is a new id, §5.4): a download URL that
    changes for the same picture is no change."""
    if _ids([encode_evotor_image(images[0] if images else None)]) != _ids([link.evotor_image]):
        return True
    return link.evotor_extra_images is not None and _ids(encode_extra_images(images)) != _ids(
        link.evotor_extra_images
    )


def _ids(notes: list[str]) -> list[str]:
    return [note.partition(" ")[0] for note in notes]
