"""The photo pipeline: a small thread pool that gets every new photo ready for its request.

For each item with a photo to send: read Evotor's image list if nobody has, download or open
the photo, normalize it to a JPEG VK accepts, then upload it (uploads are not API requests, so
they do not count against the rate limit). A new item's extra photos (`photo_ids`) ride with
its main one (sync/publish/item_photos.py). Items go up in groups of `BULK_PHOTOS`: one POST to
a `bulk=1` upload URL carries the group's files (each item's main photo, then its extras), one
`market.saveProductPhotoBulk` saves them, chained in the same `execute` to the group's
`market.add`/`edit` calls, which name their photos by `VkRef` into that save
(docs/contracts/vk-market-api.md §13).
One upload URL serves every upload for as long as VK takes it; a refused URL is dropped and the
executor fetches a fresh one. Where VK refuses bulk uploads the run goes on with one photo per
upload (`market.saveProductPhoto`).

Order is kept: items become groups in plan order and groups become `ready` in that order, so
the requests a run sends do not depend on which thread finished first (on a busy host as on a
quiet one). The executor sends a request only once its groups fill it, or when nothing more
can become ready (sync/publish/executor.py).

Pool threads never touch the database: failures come back to the executor as `(job, error)`.

Memory and the preparation of one photo: sync/publish/photo_prep.py.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import islice

from connections.vk_errors import VkApiError, VkUploadUrlRefused
from sync.models import RunAction
from sync.plan.photos import MAX_EXTRA_PHOTOS
from sync.publish import item_photos, photo_prep
from sync.publish.photo_prep import MemoryBudget
from sync.publish.work import MAX_ATTEMPTS, Job

PREP_WINDOW = 120  # photos being read/normalized/uploaded or waiting, at most
POOL_SIZE = 8
# Items per bulk upload and per market.saveProductPhotoBulk. VK documents no limit
# (docs/contracts/vk-market-api.md §13); five items' photos make a save + 5 adds = 6 calls, so 4 groups fill an
# `execute` (24 of its 25 calls): the derivation is in docs/benchmarks.md.
BULK_PHOTOS = 5
# With their extra photos, five items send up to 5 × (1 + MAX_EXTRA_PHOTOS) = 25 files in one
# POST and one save. The notes (§13: "`file1`…`fileN` in one POST") give no limit on N nor on
# the photos one saveProductPhotoBulk takes: 25 is our own assumption, as 5 was. A POST or save
# VK refuses falls back as any refused group does (a fresh URL, then each item alone with its
# main photo only, its extras left to sync/publish/extra_photos.py).


@dataclass
class PhotoGroup:
    """Photos uploaded in one POST and saved by one call: `bulk` (several files, saved by
    market.saveProductPhotoBulk) or a plain upload of one photo (market.saveProductPhoto)."""

    jobs: list[Job]
    bulk: bool
    url: str | None = None
    upload: Future | None = None
    upload_response: str | None = None

    @property
    def calls(self) -> int:
        """Calls in a request: the save, then one market.add/edit per item."""
        return 1 + len(self.jobs)

    def files(self) -> list[bytes]:
        """What the POST carries, in the order the save answers: each item's main photo, then
        its extras (a plain upload: the one main photo)."""
        if not self.bulk:
            return [self.jobs[0].jpeg]
        return [jpeg for job in self.jobs for jpeg in job.jpegs]

    def extra_counts(self) -> list[int]:
        """How many extra photos follow each item's main photo in the save's answer."""
        return [len(job.extra_jpegs) if self.bulk else 0 for job in self.jobs]


class PhotoPipeline:
    """Jobs move to_prep → prepping → prepared → (groups) waiting → uploading → ready;
    `advance` moves them. `upload(url, jpegs, bulk=…)` is VkClient.upload_photos."""

    def __init__(
        self,
        *,
        evotor_client,
        upload,
        bulk: bool = True,
        pool_size: int = POOL_SIZE,
        budget: MemoryBudget | None = None,
        merchant_extras: dict | None = None,
    ):
        self.evotor = evotor_client
        # The products' further photos uploaded in EvoSync, (store id, product id) → sources
        # (None: not loaded; the executor loads them once a new item needs them).
        self.merchant_extras = merchant_extras
        self.budget = photo_prep.MemoryBudget.from_settings() if budget is None else budget
        self.upload = upload
        self.bulk = bulk
        self.pool = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="sync-photo")
        self.to_prep: deque[Job] = deque()
        self.prepping: deque[Job] = deque()
        self.prepared: deque[Job] = deque()
        self.again: deque[Job] = deque()  # prepared once, to be uploaded again
        self.waiting: deque[PhotoGroup] = deque()
        self.uploading: deque[PhotoGroup] = deque()
        self.ready: deque[PhotoGroup] = deque()
        self.url: str | None = None  # the upload URL in use, reused while VK takes it
        self.url_requested = False  # a fetch is in a request on its way
        self.urls_refused = 0  # URLs dropped because VK refused an upload or a save from them
        self._jpegs: dict[str, bytes] = {}  # normalized fallback photos, by fingerprint
        self._ahead: dict[tuple[str, str], Future] = {}  # prepare_ahead's work, by item key

    # --- state --------------------------------------------------------------------------------
    def has_work(self) -> bool:
        return bool(
            self.to_prep
            or self.prepping
            or self.prepared
            or self.again
            or self.waiting
            or self.uploading
            or self.ready
        )

    def in_flight(self) -> bool:
        return bool(self.prepping or self.uploading)

    def _in_window(self) -> int:
        """Photos held or being made: a job being prepared counts as many as it may bring."""
        groups = (*self.waiting, *self.uploading, *self.ready)
        held = sum(len(job.jpegs) for group in groups for job in group.jobs)
        held += sum(len(job.jpegs) for job in (*self.prepared, *self.again))
        return held + sum(_photos_expected(job) for job in self.prepping)

    def can_progress(self) -> bool:
        """Something will become ready without a request being sent first."""
        if self.in_flight():
            return True
        if self.to_prep and self._in_window() < PREP_WINDOW:
            return True
        return bool((self.waiting or self.prepared or self.again) and self.url)

    def idle(self) -> bool:
        """Nothing will become ready by waiting."""
        return not self.can_progress()

    def next_group_calls(self) -> int:
        """Calls of a full group: what a request must have room for to take one more."""
        return 1 + (BULK_PHOTOS if self.bulk else 1)

    def sizes(self) -> dict[str, int]:
        """How many jobs wait at each step (for the debug log)."""
        return {
            "prepping": len(self.prepping),
            "prepared": len(self.prepared) + len(self.again),
            "waiting_url": sum(len(group.jobs) for group in self.waiting),
            "uploading": sum(len(group.jobs) for group in self.uploading),
            "ready": sum(len(group.jobs) for group in self.ready),
        }

    def urls_wanted(self) -> int:
        """Upload URLs the next request should fetch: one, when there is none to upload to."""
        if self.url is not None or self.url_requested:
            return 0
        pending = self.to_prep or self.prepping or self.prepared or self.again or self.waiting
        return 1 if pending else 0

    # --- upload URLs ----------------------------------------------------------------------------
    def url_requested_now(self) -> None:
        self.url_requested = True

    def add_url(self, url: str, *, bulk: bool) -> None:
        self.url_requested = False
        if bulk == self.bulk:  # a bulk URL that came back after bulk was refused is no use
            self.url = url

    def url_not_given(self) -> None:
        """The fetch failed (request refused or lost): the next request asks again."""
        self.url_requested = False

    def drop_url(self, url: str | None) -> None:
        """VK refused an upload to `url` or a save of one: take a fresh URL from now on."""
        if url is not None and self.url == url:
            self.url = None
            self.urls_refused += 1

    def refuse_bulk(self) -> None:
        """VK does not take bulk uploads here: one photo per upload from now on. Groups made
        for bulk and not yet saved are uploaded again, one photo each."""
        if not self.bulk:
            return
        self.bulk = False
        self.url = None
        self.url_requested = False
        for group in [*self.waiting, *self.ready]:
            for job in group.jobs:
                job.upload_response = None
                self.again.append(job)
        self.waiting.clear()
        self.ready.clear()

    # --- moving jobs --------------------------------------------------------------------------
    def prepare_ahead(self, items) -> None:
        """Start preparing the first photos (in plan order) before their jobs exist, so the
        pool works while the run creates its albums and links instead of after; a job added
        later for one of these items takes its photo from here."""
        for item in islice(items, PREP_WINDOW):
            # A new item's extras go with it; before its link is at hand Evotor's image list
            # decides them (extras=None), as for a link whose pictures were never looked at.
            self._ahead[item.key] = self._prepare(
                item, with_extras=item.action == RunAction.CREATE, extras=None
            )

    def _prepare(self, item, *, with_extras: bool, extras) -> Future:
        return self.pool.submit(
            item_photos.prepare_item_photos,
            item,
            self.evotor,
            self._jpegs,
            self.budget,
            with_extras=with_extras and self.bulk,
            extras=extras,
            merchant_extras=(self.merchant_extras or {}).get(item.key, ()),
        )

    def add(self, job: Job) -> None:
        self.to_prep.append(job)

    def upload_again(self, job: Job) -> None:
        """Upload the job's photo again (an upload is good for one save), to a URL in use."""
        job.upload_response = None
        self.again.append(job)

    def save_refused(self, group: PhotoGroup) -> None:
        """VK refused a bulk save (the upload is stale, or one of its photos is bad): drop the
        URL, upload the group again once to a fresh one, then each photo on its own, so a bad
        photo costs only its own item (VK's message then names it)."""
        self.drop_url(group.url)
        for job in group.jobs:
            job.upload_response = None
            job.bulk_refusals += 1
            self.again.append(job)

    def advance(self) -> list[tuple[Job, Exception]]:
        """Collect finished work, start new work; returns the jobs that failed, with why."""
        failed: list[tuple[Job, Exception]] = []
        # Prepared photos leave in plan order: a job done early waits for the ones before it.
        while self.prepping and self.prepping[0].prep.done():
            job = self.prepping.popleft()
            try:
                ready = job.prep.result()
            except Exception as exc:  # the executor decides what each failure means
                failed.append((job, exc))
                continue
            finally:
                job.prep = None
            job.jpeg, job.photo_source, job.evotor_image = (
                ready.jpeg,
                ready.source,
                ready.evotor_image,
            )
            job.evotor_extras = ready.evotor_extras
            job.extra_sources, job.extra_jpegs = ready.extra_sources, ready.extra_jpegs
            self.prepared.append(job)

        while self.to_prep and self._in_window() < PREP_WINDOW:
            job = self.to_prep.popleft()
            job.prep = self._ahead.pop(job.item.key, None) or self._prepare(
                job.item, with_extras=job.with_extras, extras=job.extras
            )
            self.prepping.append(job)

        self._make_groups()
        while self.waiting and self.url:
            group = self.waiting.popleft()
            group.url = self.url
            group.upload = self.pool.submit(self.upload, group.url, group.files(), bulk=group.bulk)
            self.uploading.append(group)

        retry: list[PhotoGroup] = []
        while self.uploading and self.uploading[0].upload.done():
            group = self.uploading.popleft()
            try:
                group.upload_response = group.upload.result()
            except VkApiError as exc:
                group.upload = None
                if isinstance(exc, VkUploadUrlRefused):
                    self.drop_url(group.url)
                for job in group.jobs:
                    job.attempts += 1
                if group.jobs[0].attempts < MAX_ATTEMPTS:
                    retry.append(group)
                else:
                    failed.extend((job, exc) for job in group.jobs)
                continue
            group.upload = None
            if group.bulk != self.bulk:  # uploaded for bulk, but VK refused bulk meanwhile
                for job in group.jobs:
                    self.again.append(job)
                continue
            for job in group.jobs:
                job.upload_response = group.upload_response
            self.ready.append(group)
        # Refused uploads go first when a URL comes, in their order.
        self.waiting.extendleft(reversed(retry))
        return failed

    def _make_groups(self) -> None:
        """Prepared jobs → groups of BULK_PHOTOS in plan order (a smaller one only when no more
        photos will come); a job whose bulk save VK refused twice goes alone."""
        size = BULK_PHOTOS if self.bulk else 1
        while self.again:
            job = self.again[0]
            if not self.bulk or job.bulk_refusals >= 2:
                self.again.popleft()
                job.drop_extras()  # alone: its main photo only, so a bad extra cannot cost it
                self.waiting.append(PhotoGroup([job], bulk=self.bulk))
                continue
            jobs = []
            while self.again and len(jobs) < size and self.again[0].bulk_refusals < 2:
                jobs.append(self.again.popleft())
            self.waiting.append(PhotoGroup(jobs, bulk=True))
        more_to_come = bool(self.to_prep or self.prepping)
        while self.prepared and (len(self.prepared) >= size or not more_to_come):
            jobs = [self.prepared.popleft() for _ in range(min(size, len(self.prepared)))]
            if not self.bulk:
                jobs[0].drop_extras()  # one file per upload: the extras cannot ride
            self.waiting.append(PhotoGroup(jobs, bulk=self.bulk))

    def wait(self, until: float) -> None:
        """Wait for the photo work that gates progress to finish, or until `until`.

        Work leaves in plan order, so only the oldest preparation and the oldest upload can
        move anything on: waiting on every future would return at once while a later one is
        done and the oldest is not, and the executor would spin, taking the interpreter from
        the very threads it waits for."""
        futures = []
        if self.prepping:
            futures.append(self.prepping[0].prep)
        if self.uploading:
            futures.append(self.uploading[0].upload)
        timeout = max(0.005, until - time.monotonic())
        if futures:
            wait(futures, timeout=min(timeout, 0.5), return_when=FIRST_COMPLETED)
        else:
            time.sleep(min(timeout, 0.05))

    def unsent(self) -> list[Job]:
        """Take every job not yet prepared, uploading or sent (the run gives up on them)."""
        jobs = [*self.to_prep, *self.prepared, *self.again]
        for group in (*self.waiting, *self.ready):
            jobs.extend(group.jobs)
        for queue in (self.to_prep, self.prepared, self.again, self.waiting, self.ready):
            queue.clear()
        return jobs

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _photos_expected(job) -> int:
    """Photos a job being prepared may bring: its main one and, for a new item, its extras
    (as many as known, else as many as VK takes)."""
    if not job.with_extras:
        return 1
    return 1 + (len(job.extras) if job.extras is not None else MAX_EXTRA_PHOTOS)
