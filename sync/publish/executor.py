"""The executor: applies a plan to VK, turning plan items into VK calls packed into requests.

How a run stays fast (docs/contracts/product.md "Limits": 3 requests per second, 25 calls per `execute`):
- every request is an `execute` filled to 25 calls: new items go in photo groups of five, one
  `market.saveProductPhotoBulk` + five `market.add` chained by `VkRef` (6 calls; 4 groups a
  request; each item's extra photos ride the same upload and save, named by `photo_ids`), an edit, hide, restore or delete is one call, album memberships go 100 items per
  `market.addToAlbum` (sync/publish/albums.py) in the room left; one upload URL serves the run
  while VK takes it (docs/contracts/vk-market-api.md §13; docs/benchmarks.md derives the minimum);
- photos are read, normalized and uploaded ahead in a thread pool (sync/publish/pipeline.py);
- each answer is read by the handlers of sync/publish/outcomes.py (link state, run item, retry);
- a request leaves only once it is full, or when nothing more can become ready without it, so
  the number of requests of a publish does not depend on how busy the host is.

How a run stays right (docs/contracts/competitors.md §3.1, §3.5):
- a new item's link is written `creating` BEFORE the request leaves (sync/publish/links.py);
- every batch's results are written in one transaction as soon as they arrive
  (sync/publish/records.py);
- an item VK refuses keeps VK's message on its link and run item and is tried again next run;
  the rest of the run goes on. Token revoked (5), captcha (14), Market off (1438), missing rights,
  persistent limits (6, 9) or VK down stop the run (`Stop`); sync/publish/run.py decides the
  run's status.

No database access happens outside the main thread.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable

from django.db import transaction

from connections.vk_client import VkCallResult
from connections.vk_errors import VkUnavailableError
from sync import reasons
from sync.models import ItemLink, RunAction, SyncRun
from sync.plan.photo_set import merchant_extras, wanted_extras
from sync.plan.photos import EvotorImage
from sync.plan.plan import Plan
from sync.publish import calls, links
from sync.publish.albums import Albums
from sync.publish.outcomes import UNKNOWN_METHOD, ItemOutcomes, RunStop
from sync.publish.pipeline import PhotoPipeline
from sync.publish.records import RunRecorder, create_missing_links
from sync.publish.transport import NotSentError, UnknownOutcomeError
from sync.publish.variants import VariantPublisher
from sync.publish.work import Batch, Job, Outcome, Stop

logger = logging.getLogger(__name__)

INVALID_PARAMETER = 100  # getProductPhotoUploadServer refusing `bulk=1`
MAX_FAILED_REQUESTS = 3  # consecutive requests VK did not answer before the run gives up


class Executor:
    """Applies one plan for one merchant. `run()` returns normally or raises `Stop`.

    After `run()`, `unknown_creates` holds the new items whose `market.add` answer was lost
    (their links stay `creating`; sync/publish/recovery.py resolves them).
    """

    def __init__(
        self,
        *,
        run: SyncRun,
        plan: Plan,
        links: dict[tuple[str, str], ItemLink],
        transport,
        group_id: int,
        evotor_client=None,
        on_batch: Callable[[], None] | None = None,
        requests_before: int = 0,
        refusals_before: int = 0,
    ):
        self.plan = plan
        # A later chunk of a run (sync/publish/chunked.py) counts on from the earlier chunks'
        # figures, so the pages never show one chunk's requests as the run's.
        self.requests_before = requests_before
        self.refusals_before = refusals_before
        self.links = links
        self.transport = transport
        self.group_id = int(group_id)
        self.owner_id = -int(group_id)
        self.recorder = RunRecorder(run)
        self.stop = RunStop()
        self.photos = PhotoPipeline(
            evotor_client=evotor_client, upload=transport.client.upload_photos
        )
        self.albums = Albums(
            user=run.user, owner_id=self.owner_id, recorder=self.recorder, note_stop=self.stop.note
        )
        self.variants = VariantPublisher(
            user=run.user, group_id=group_id, plan=plan.variants, note_stop=self.stop.note
        )
        self.on_batch = on_batch
        self.simple: deque[Job] = deque()  # items with calls but no photo to upload
        self.outcomes = ItemOutcomes(
            recorder=self.recorder,
            photos=self.photos,
            albums=self.albums,
            simple=self.simple,
            stop=self.stop,
        )
        self.failed_requests = 0

    @property
    def run_row(self) -> SyncRun:
        return self.recorder.run

    @property
    def unknown_creates(self) -> list[Job]:
        return self.outcomes.unknown_creates

    # --- entry point ----------------------------------------------------------------------------
    def run(self) -> None:
        try:
            # The first photos get ready while the albums and links are made (issue 11).
            ahead = [item for item in self.plan.items if _needs_photo(item)]
            if any(item.action == RunAction.CREATE for item in ahead):
                self.photos.merchant_extras = merchant_extras(self.run_row.user)
            self.photos.prepare_ahead(ahead)
            self.albums.apply(
                self.plan, send=self._send_or_stop, max_calls=self.transport.max_calls
            )
            max_calls = self.transport.max_calls
            self.variants.prepare(send=self._send_or_stop, max_calls=max_calls)
            self.variants.annotate(self.plan)
            self._start_jobs()
            self._loop()
            self.variants.finish(self.links, send=self._send_or_stop, max_calls=max_calls)
        finally:
            self.photos.shutdown()
            self.recorder.flush()

    # --- jobs -----------------------------------------------------------------------------------
    def _start_jobs(self) -> None:
        """Links for every item to apply (created now if new), adoptions recorded, queues filled."""
        create_missing_links(self.run_row.user, self.plan, self.links)
        for item in self.plan.items:
            link = self.links.get(item.key)
            if item.skipped:
                self.recorder.item_skipped_by_plan(item, link)
                continue
            job = Job(item=item, link=link)
            if item.action == RunAction.ADOPT:
                links.adopt(link, item.adopt_from, managed_albums=self.albums.managed_ids())
                link.save()
            if _needs_photo(item):
                job.needs_photo = True
                if item.action == RunAction.CREATE:
                    self._plan_extras(job)
                self.photos.add(job)
            elif (
                item.action == RunAction.DELETE
                or item.restore_deleted
                or item.send_fields
                or (item.set_hidden is not None)
            ):
                self.simple.append(job)
            else:
                # Only album memberships change (or an adoption with nothing to send).
                self.outcomes.finish(job, Outcome.ok())
                self.albums.queue(job)
        self.recorder.flush()

    def _plan_extras(self, job: Job) -> None:
        """A new item's extra photos go with its main one: as known from its link, or (None)
        as Evotor's image list says when it is read while preparing."""
        if self.photos.merchant_extras is None:
            self.photos.merchant_extras = merchant_extras(self.run_row.user)
        job.with_extras = True
        desired = job.item.desired
        if desired is not None and desired.photo_unknown:
            return
        if job.link.evotor_image != EvotorImage.NOT_LOOKED:
            job.extras = wanted_extras(job.link, self.photos.merchant_extras)

    # --- the loop -------------------------------------------------------------------------------
    def _work_left(self) -> bool:
        return bool(self.photos.has_work() or self.simple or self.albums.has_work())

    def _loop(self) -> None:
        while self._work_left():
            self._advance_photos()
            if self.stop.error is not None:
                raise Stop(self.stop.error)
            if not self._ready_to_send():
                self.photos.wait(time.monotonic() + 0.5)
                continue
            batch = self._compose()
            if not batch.calls:
                if not self.photos.in_flight():
                    # Nothing can make progress (should not happen): give up on the rest.
                    self.outcomes.abandon_rest(reasons.NOT_SENT)
                    return
                self.photos.wait(time.monotonic() + 0.5)
                continue
            self._send(batch)
            if self.stop.error is not None:
                raise Stop(self.stop.error)

    def _ready_to_send(self) -> bool:
        """Send once the request is full (one more photo group would not fit), or when
        nothing more will become ready by waiting. Never because a rate-limit slot came: a
        half-full request on a busy host would be one more request than on a quiet one."""
        full = self.transport.max_calls
        calls = self.photos.urls_wanted()
        if calls and not self.photos.ready:
            return True  # no photo moves without an upload URL: fetch it now
        for group in self.photos.ready:
            if calls + group.calls > full:
                return True
            calls += group.calls
        if calls + self.photos.next_group_calls() > full:
            return True
        # Other calls (edits, memberships) only fill the room photo groups leave: counting them
        # here would send 3 groups instead of 4 whenever the 4th was a moment late.
        return not self.photos.can_progress()

    def _advance_photos(self) -> None:
        for job, error in self.photos.advance():
            self.outcomes.photo_failed(job, error)

    # --- composing a request --------------------------------------------------------------------
    def _compose(self) -> Batch:
        batch = Batch()
        full = self.transport.max_calls
        if self.photos.urls_wanted():
            # First: without an upload URL no photo moves.
            call = calls.upload_url_calls(self.group_id, 1, bulk=self.photos.bulk)
            batch.add(call, self._urls_handler)
            self.photos.url_requested_now()
        ready = self.photos.ready
        while ready and len(batch.calls) + ready[0].calls <= full:
            group = ready.popleft()
            group_calls = calls.group_calls(
                [(job.item, job.link.vk_item_id) for job in group.jobs],
                owner_id=self.owner_id,
                upload_response=group.upload_response,
                bulk=group.bulk,
                at=len(batch.calls),
                extra_counts=group.extra_counts(),
            )
            batch.add(group_calls, self.outcomes.group_handler(group))
            for job in group.jobs:
                self._mark_creating(job)
        while self.simple and len(batch.calls) < full:
            job = self.simple[0]
            item_calls = calls.simple_calls(
                job.item, owner_id=self.owner_id, vk_item_id=job.link.vk_item_id
            )
            if len(batch.calls) + len(item_calls) > full:
                break
            self.simple.popleft()
            batch.add(item_calls, self.outcomes.item_handler(job, with_photo=False))
        flush_partial = not self.photos.has_work() and not self.simple
        self.albums.compose(batch, limit=full, flush_partial=flush_partial)
        self.recorder.flush()  # the `creating` marks are written before the request leaves
        return batch

    def _mark_creating(self, job: Job) -> None:
        if job.action != RunAction.CREATE:
            return
        item = job.item
        links.mark_creating(
            job.link,
            sku=item.send_fields.get("sku"),
            fields=item.send_fields,
            hidden=bool(item.set_hidden),
            photo_hash=job.photo_source.photo_hash if job.photo_source else "",
        )
        if job.evotor_image is not None:
            links.remember_evotor_image(
                job.link, note=job.evotor_image, source_hash=item.desired.source_hash
            )
        if job.evotor_extras is not None:
            links.remember_evotor_extras(job.link, job.evotor_extras)
        self.recorder.dirty(job.link)

    # --- sending ---------------------------------------------------------------------------------
    def _send(self, batch: Batch) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            kinds = Counter(call.method.split(".")[1] for call in batch.calls)
            logger.debug("sync request", extra={"calls": dict(kinds), **self.photos.sizes()})
        sent = self.transport.send(batch.calls)
        if isinstance(sent.stop, VkUnavailableError):
            # VK down or an answer lost: the calls are retried, unless it keeps happening.
            self.failed_requests += 1
            if self.failed_requests >= MAX_FAILED_REQUESTS:
                self.stop.error = sent.stop
        elif sent.stop is not None:
            self.stop.error = sent.stop
        else:
            self.failed_requests = 0
        with transaction.atomic():
            for handler, indexes in batch.handlers:
                handler([sent.results[i] for i in indexes])
            self.recorder.flush()
            client = self.transport.client
            self.recorder.save_counters(
                vk_requests=self.requests_before + client.requests_made,
                vk_rate_refusals=self.refusals_before + client.rate_refusals,
            )
        if self.on_batch:
            self.on_batch()

    def _send_or_stop(self, batch: Batch) -> None:
        self._send(batch)
        if self.stop.error is not None:
            raise Stop(self.stop.error)

    def _urls_handler(self, results: list[VkCallResult]) -> None:
        (result,) = results
        bulk = bool(result.call.params.get("bulk"))
        if result.ok and isinstance(result.value, dict) and result.value.get("upload_url"):
            self.photos.add_url(result.value["upload_url"], bulk=bulk)
            return
        self.photos.url_not_given()
        error = result.error
        if bulk and error is not None and error.code in (INVALID_PARAMETER, UNKNOWN_METHOD):
            logger.info("VK refused bulk photo uploads", extra={"code": error.code})
            self.photos.refuse_bulk()
        elif not isinstance(error, NotSentError | UnknownOutcomeError):
            self.stop.note(error)


def _needs_photo(item) -> bool:
    """A plan item whose request carries a photo upload: every new item, and a changed photo
    (a restored item keeps its own)."""
    return not item.skipped and (
        item.action == RunAction.CREATE or (item.photo is not None and not item.restore_deleted)
    )
