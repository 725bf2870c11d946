"""Getting one item's photo ready in a pool thread: read it, normalize it within memory.

Used by the photo pipeline (sync/publish/pipeline.py). Nothing here touches the database;
failures are `PhotoUnavailable` with a reason code the run item records (sync.reasons).

Memory: a decoded photo costs far more than its file (a 16 KB PNG can decode to hundreds of MB),
and the pool prepares several at once. Each thread reserves its photo's working memory,
estimated from the header before a pixel is decoded, from one `MemoryBudget`
(SYNC_PHOTO_MEMORY_MB), and waits while the others hold it. A photo VK could not take anyway
(connections.vk_photos.UnusableImage) or one that still runs out of memory skips its item with a
reason the merchant reads; the rest of the run goes on.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from django.conf import settings

from connections.evotor_client import EvotorAuthError, EvotorError
from connections.vk_photos import (
    InvalidImageError,
    UnusableImage,
    normalize_product_image,
    working_memory,
)
from sync import reasons
from sync.plan.photos import PhotoKind, encode_evotor_image, evotor_source, read_photo_bytes
from sync.plan.rules import FLAG_NO_PHOTO


class PhotoUnavailable(Exception):
    """No photo could be had for an item (none anywhere, or it could not be read).

    `code` is the reason the run item records (sync.reasons); the message is a detail for the
    log only.
    """

    def __init__(
        self,
        code: str,
        detail: str = "",
        *,
        none_found: bool = False,
        skip: bool = False,
        evotor_image: str = "",
    ):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.none_found = none_found
        # The item is skipped (not failed): retrying cannot help until the photo changes.
        self.skip = skip or none_found
        self.evotor_image = evotor_image


class MemoryBudget:
    """Bytes of decoded images the photo threads may hold at once.

    `hold(amount)` waits until `amount` fits beside what the others hold. An amount larger than
    the whole budget is held alone (clamped), so one big photo waits for the others instead of
    never running.
    """

    def __init__(self, limit: int):
        self.limit = max(1, int(limit))
        self.in_use = 0
        self.waiting = 0  # threads waiting for room (for the tests' instrumentation)
        self._room = threading.Condition()

    @classmethod
    def from_settings(cls) -> MemoryBudget:
        return cls(settings.SYNC_PHOTO_MEMORY_MB * 1024 * 1024)

    @contextmanager
    def hold(self, amount: int):
        amount = min(max(0, int(amount)), self.limit)
        with self._room:
            self.waiting += 1
            try:
                while self.in_use + amount > self.limit:
                    self._room.wait()
            finally:
                self.waiting -= 1
            self.in_use += amount
        try:
            yield
        finally:
            with self._room:
                self.in_use -= amount
                self._room.notify_all()


def normalize_within(budget: MemoryBudget | None, data: bytes) -> bytes:
    """`normalize_product_image` once the budget has room for it (header read first)."""
    if budget is None:
        return normalize_product_image(data)
    with budget.hold(working_memory(data)):
        return normalize_product_image(data)


def prepare_photo(item, evotor_client, cache: dict, budget: MemoryBudget | None = None):
    """(jpeg, source, evotor image note) for an item; runs in a pool thread.

    A fallback photo (the default one, a group's) is normalized once per run and its bytes
    reused: each item still gets its own upload, as VK wants, without redoing the work.
    """
    desired = item.desired
    source = item.photo
    evotor_note = None
    if desired is not None and desired.photo_unknown and evotor_client is not None:
        try:
            images = evotor_client.list_product_images(item.store_id, item.product_id)
        except EvotorAuthError:
            raise
        except EvotorError as exc:
            raise PhotoUnavailable(reasons.EVOTOR_PHOTO_UNAVAILABLE, str(exc)) from None
        image = images[0] if images else None
        evotor_note = encode_evotor_image(image)
        if image is not None:
            source = evotor_source(image.id, image.url)
    if source is None:
        raise PhotoUnavailable(FLAG_NO_PHOTO, none_found=True, evotor_image=evotor_note or "")
    if source.kind != PhotoKind.EVOTOR and source.fingerprint in cache:
        return cache[source.fingerprint], source, evotor_note
    try:
        jpeg = normalize_within(budget, read_photo_bytes(source, evotor_client))
        if source.kind != PhotoKind.EVOTOR:
            cache[source.fingerprint] = jpeg
        return jpeg, source, evotor_note
    except EvotorAuthError:
        raise
    except UnusableImage as exc:
        # Refused from the header: the photo itself must change, so the item is skipped.
        raise PhotoUnavailable(
            reasons.UNUSABLE_IMAGE.get(exc.reason, reasons.PHOTO_UNREADABLE),
            str(exc),
            skip=True,
            evotor_image=evotor_note or "",
        ) from None
    except MemoryError:
        # Whatever the estimate said, the process ran short: this item is skipped, the run and
        # the other photos go on (the memory is freed as the exception unwinds).
        raise PhotoUnavailable(
            reasons.PHOTO_OUT_OF_MEMORY, skip=True, evotor_image=evotor_note or ""
        ) from None
    except (InvalidImageError, OSError, EvotorError) as exc:
        code = (
            reasons.EVOTOR_PHOTO_UNAVAILABLE
            if isinstance(exc, EvotorError)
            else reasons.PHOTO_UNREADABLE
        )
        raise PhotoUnavailable(code, str(exc), evotor_image=evotor_note or "") from None
