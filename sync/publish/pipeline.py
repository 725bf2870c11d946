"""The photo pipeline: a small thread pool that gets every new photo ready for its request.

For each item with a photo to send: read Evotor's image list if nobody has, download or open
the photo, normalize it to a JPEG VK accepts, then upload it to an upload URL the executor
fetched in an earlier request (uploads are not API requests, so they do not count against the
rate limit). The executor's main thread sends requests while this runs; an item is `ready` once
its upload answered, and goes out as a `market.saveProductPhoto` + `market.add`/`edit` pair.

Pool threads never touch the database: failures come back to the executor as `(job, error)`.

Memory: a decoded photo costs far more than its file (a 16 KB PNG can decode to hundreds of MB),
and the pool prepares several at once. Each thread reserves its photo's working memory,
estimated from the header before a pixel is decoded, from one `MemoryBudget`
(SYNC_PHOTO_MEMORY_MB), and waits while the others hold it. A photo VK could not take anyway
(connections.vk_photos.UnusableImage) or one that still runs out of memory skips its item with a
reason the merchant reads; the rest of the run goes on.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager

from django.conf import settings

from connections.evotor_client import EvotorAuthError, EvotorError
from connections.vk_errors import VkApiError
from connections.vk_photos import (
    InvalidImageError,
    UnusableImage,
    normalize_product_image,
    working_memory,
)
from sync import reasons
from sync.plan.photos import PhotoKind, encode_evotor_image, evotor_source, read_photo_bytes
from sync.plan.rules import FLAG_NO_PHOTO
from sync.publish.work import MAX_ATTEMPTS, Job

PREP_WINDOW = 120  # photos being read/normalized/uploaded or waiting, at most
URL_WINDOW = 100  # upload URLs fetched ahead of use, at most
URL_AHEAD = 48  # items ready to go out (URL in hand) kept up, about 4 requests' worth
POOL_SIZE = 8


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


def _normalize_within(budget: MemoryBudget | None, data: bytes) -> bytes:
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
        jpeg = _normalize_within(budget, read_photo_bytes(source, evotor_client))
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


class PhotoPipeline:
    """Jobs move to_prep → prepping → waiting_url → uploading → ready; `advance` moves them."""

    def __init__(
        self,
        *,
        evotor_client,
        upload,
        pool_size: int = POOL_SIZE,
        budget: MemoryBudget | None = None,
    ):
        self.evotor = evotor_client
        self.upload = upload  # (url, jpeg) -> VK's upload answer; raises VkApiError
        self.budget = MemoryBudget.from_settings() if budget is None else budget
        self.pool = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="sync-photo")
        self.to_prep: deque[Job] = deque()
        self.prepping: list[Job] = []
        self.waiting_url: deque[Job] = deque()
        self.uploading: list[Job] = []
        self.ready: deque[Job] = deque()
        self.spare_urls: deque[str] = deque()
        self._jpegs: dict[str, bytes] = {}  # normalized fallback photos, by fingerprint

    # --- state --------------------------------------------------------------------------------
    def has_work(self) -> bool:
        return bool(
            self.to_prep or self.prepping or self.waiting_url or self.uploading or self.ready
        )

    def in_flight(self) -> bool:
        return bool(self.prepping or self.uploading)

    def idle(self) -> bool:
        """Nothing will become ready by waiting."""
        return not self.in_flight() and not self.to_prep

    def before_send(self) -> bool:
        """Photos not yet sent (none ready, but some on their way)."""
        return bool(self.to_prep or self.prepping or self.waiting_url or self.uploading)

    def sizes(self) -> dict[str, int]:
        """How many jobs wait at each step (for the debug log)."""
        return {
            "prepping": len(self.prepping),
            "waiting_url": len(self.waiting_url),
            "uploading": len(self.uploading),
            "ready": len(self.ready),
            "spare_urls": len(self.spare_urls),
        }

    def urls_needed(self) -> int:
        """Upload URLs still to fetch for the photos not yet uploading (at most URL_WINDOW)."""
        need = len(self.waiting_url) + len(self.prepping) + len(self.to_prep)
        return max(0, min(need, URL_WINDOW) - len(self.spare_urls))

    def urls_wanted(self) -> int:
        """URLs to fetch in the next request so the items that can go out without a new fetch
        (spare URLs, uploads, ready pairs) stay about URL_AHEAD: enough for the next requests."""
        ahead = len(self.spare_urls) + len(self.uploading) + len(self.ready)
        return min(self.urls_needed(), max(0, URL_AHEAD - ahead))

    # --- moving jobs --------------------------------------------------------------------------
    def add(self, job: Job) -> None:
        self.to_prep.append(job)

    def add_url(self, url: str) -> None:
        self.spare_urls.append(url)

    def upload_again(self, job: Job) -> None:
        """A photo upload is good for one save: take a new URL and upload again."""
        job.upload_response = None
        self.waiting_url.append(job)

    def advance(self) -> list[tuple[Job, Exception]]:
        """Collect finished work, start new work; returns the jobs that failed, with why."""
        failed: list[tuple[Job, Exception]] = []
        still = []
        for job in self.prepping:
            if not job.prep.done():
                still.append(job)
                continue
            try:
                job.jpeg, job.photo_source, job.evotor_image = job.prep.result()
            except Exception as exc:  # the executor decides what each failure means
                failed.append((job, exc))
                continue
            job.prep = None
            self.waiting_url.append(job)
        self.prepping = still

        while self.to_prep and (
            len(self.prepping) + len(self.waiting_url) + len(self.uploading) + len(self.ready)
            < PREP_WINDOW
        ):
            job = self.to_prep.popleft()
            job.prep = self.pool.submit(
                prepare_photo, job.item, self.evotor, self._jpegs, self.budget
            )
            self.prepping.append(job)

        while self.waiting_url and self.spare_urls:
            job = self.waiting_url.popleft()
            job.upload = self.pool.submit(self.upload, self.spare_urls.popleft(), job.jpeg)
            self.uploading.append(job)

        still = []
        for job in self.uploading:
            if not job.upload.done():
                still.append(job)
                continue
            try:
                job.upload_response = job.upload.result()
            except VkApiError as exc:
                job.attempts += 1
                job.upload = None
                if job.attempts < MAX_ATTEMPTS:
                    self.waiting_url.append(job)
                else:
                    failed.append((job, exc))
                continue
            job.upload = None
            self.ready.append(job)
        self.uploading = still
        return failed

    def wait(self, until: float) -> None:
        """Wait for some photo work to finish, or until `until` (time.monotonic)."""
        futures = [job.prep for job in self.prepping] + [job.upload for job in self.uploading]
        timeout = max(0.005, until - time.monotonic())
        if futures:
            wait(futures, timeout=min(timeout, 0.5), return_when=FIRST_COMPLETED)
        else:
            time.sleep(min(timeout, 0.05))

    def unsent(self) -> list[Job]:
        """Take every job not yet prepared, uploading or sent (the run gives up on them)."""
        jobs = [*self.to_prep, *self.waiting_url, *self.ready]
        self.to_prep.clear()
        self.waiting_url.clear()
        self.ready.clear()
        return jobs

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
