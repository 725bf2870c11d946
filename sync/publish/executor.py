"""The executor: applies a plan to VK, turning plan items into VK calls packed into requests.

How a run stays fast (docs/contracts/product.md "Limits": 3 requests per second, 25 calls per `execute`):
- every request is an `execute` filled to 25 calls from whatever is ready: a new item is a
  `market.saveProductPhoto` + `market.add` pair chained by `VkRef` (2 calls), an edit, hide,
  restore or delete is one call, album memberships go 100 items per `market.addToAlbum`
  (sync/publish/albums.py), and the remaining room fetches upload URLs ahead of need;
- photos are read, normalized and uploaded in a thread pool (sync/publish/pipeline.py) while
  this thread waits for its next request slot, so the wall time is the rate limit's;
- a request is sent when its slot comes, with whatever is ready, or earlier once it is full.

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

from connections.evotor_client import EvotorAuthError
from connections.vk_client import VkCallResult
from connections.vk_errors import VkApiError, VkUnavailableError
from sync import reasons
from sync.models import ItemLink, RunAction, SyncRun
from sync.plan.plan import Plan
from sync.publish import answers, calls, links
from sync.publish.albums import Albums
from sync.publish.answers import Verdict
from sync.publish.pipeline import PhotoPipeline, PhotoUnavailable
from sync.publish.records import RunRecorder, create_missing_links, photo_id_of, vk_message
from sync.publish.transport import NotSentError, UnknownOutcomeError
from sync.publish.work import MAX_ATTEMPTS, Batch, EvotorStopped, Job, Outcome, Stop

logger = logging.getLogger(__name__)

MIN_PAIRS = 8  # new items per request the composer never gives up for URL fetches
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
    ):
        self.plan = plan
        self.links = links
        self.transport = transport
        self.group_id = int(group_id)
        self.owner_id = -int(group_id)
        self.recorder = RunRecorder(run)
        self.photos = PhotoPipeline(
            evotor_client=evotor_client, upload=transport.client.upload_photo
        )
        self.albums = Albums(
            user=run.user, owner_id=self.owner_id, recorder=self.recorder, note_stop=self._note_stop
        )
        self.on_batch = on_batch
        self.simple: deque[Job] = deque()  # items with calls but no photo to upload
        self.unknown_creates: list[Job] = []
        self.failed_requests = 0
        self.stop_error: Exception | None = None

    @property
    def run_row(self) -> SyncRun:
        return self.recorder.run

    # --- entry point ----------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self.albums.apply(
                self.plan, send=self._send_or_stop, max_calls=self.transport.max_calls
            )
            self._start_jobs()
            self._loop()
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
            if item.action == RunAction.CREATE or (
                item.photo is not None and not item.restore_deleted
            ):
                job.needs_photo = True
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
                self._finish(job, Outcome.ok())
                self.albums.queue(job)
        self.recorder.flush()

    # --- the loop -------------------------------------------------------------------------------
    def _work_left(self) -> bool:
        return bool(self.photos.has_work() or self.simple or self.albums.has_work())

    def _loop(self) -> None:
        while self._work_left():
            self._advance_photos()
            if self.stop_error is not None:
                raise Stop(self.stop_error)
            if not self._ready_to_send():
                self.photos.wait(self.transport.next_slot)
                continue
            batch = self._compose()
            if not batch.calls:
                if not self.photos.in_flight():
                    # Nothing can make progress (should not happen): give up on the rest.
                    self._abandon_rest(reasons.NOT_SENT)
                    return
                self.photos.wait(self.transport.next_slot)
                continue
            self._send(batch)
            if self.stop_error is not None:
                raise Stop(self.stop_error)

    def _potential(self) -> int:
        """How many calls are ready to go right now."""
        calls = 2 * len(self.photos.ready) + len(self.simple) + self.albums.ready_calls()
        return calls + self.photos.urls_wanted()

    def _ready_to_send(self) -> bool:
        """Send when the batch would be full, or when our next request slot has come."""
        potential = self._potential()
        if potential >= self.transport.max_calls:
            return True
        if self.photos.idle():
            return True  # nothing more will become ready by waiting
        if potential == 0:
            return False
        return time.monotonic() >= self.transport.next_slot

    def _advance_photos(self) -> None:
        for job, error in self.photos.advance():
            if isinstance(error, PhotoUnavailable):
                if error.evotor_image:
                    links.remember_evotor_image(
                        job.link,
                        note=error.evotor_image,
                        source_hash=job.item.desired.source_hash if job.item.desired else "",
                    )
                    self.recorder.dirty(job.link)
                if error.skip:
                    if not error.none_found:
                        logger.info(
                            "photo unusable, item skipped",
                            extra={
                                "run_id": self.run_row.pk,
                                "reason": error.code,
                                "detail": error.detail,
                            },
                        )
                    self._finish(job, Outcome.skipped(error.code), flag=True)
                else:
                    logger.info(
                        "photo unavailable",
                        extra={
                            "run_id": self.run_row.pk,
                            "reason": error.code,
                            "detail": error.detail,
                        },
                    )
                    self._finish(job, Outcome.failed(error.code))
            elif isinstance(error, EvotorAuthError):
                self.stop_error = EvotorStopped(str(error))
                self._finish(job, Outcome.failed(reasons.EVOTOR_TOKEN_REVOKED), count_failure=False)
            elif isinstance(error, VkApiError):  # the upload failed MAX_ATTEMPTS times
                self._finish(job, Outcome.failed(error.user_message))
            else:  # a bug must cost one item, not the run
                logger.error(
                    "preparing a photo failed",
                    exc_info=error,
                    extra={"run_id": self.run_row.pk},
                )
                self._finish(job, Outcome.failed(reasons.PHOTO_FAILED))

    # --- composing a request --------------------------------------------------------------------
    def _compose(self) -> Batch:
        batch = Batch()
        full = self.transport.max_calls
        ready = self.photos.ready
        # Room kept for URL fetches, so the photo pipeline never runs dry; the rest of the
        # request is filled first with ready items, then other work, then more URLs.
        reserved = min(self.photos.urls_wanted(), full - 2 * min(len(ready), MIN_PAIRS))
        limit = full - max(0, reserved)
        while ready and len(batch.calls) + 2 <= limit:
            job = ready.popleft()
            pair = calls.photo_calls(
                job.item,
                owner_id=self.owner_id,
                vk_item_id=job.link.vk_item_id,
                upload_response=job.upload_response,
                at=len(batch.calls),
            )
            batch.add(pair, self._item_handler(job, with_photo=True))
            self._mark_creating(job)
        while self.simple and len(batch.calls) < limit:
            job = self.simple[0]
            item_calls = calls.simple_calls(
                job.item, owner_id=self.owner_id, vk_item_id=job.link.vk_item_id
            )
            if len(batch.calls) + len(item_calls) > limit:
                break
            self.simple.popleft()
            batch.add(item_calls, self._item_handler(job, with_photo=False))
        flush_partial = not self.photos.has_work() and not self.simple
        self.albums.compose(batch, limit=limit, flush_partial=flush_partial)
        urls = min(self.photos.urls_needed(), full - len(batch.calls))
        if urls > 0:
            batch.add(calls.upload_url_calls(self.group_id, urls), self._urls_handler)
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
                self.stop_error = sent.stop
        elif sent.stop is not None:
            self.stop_error = sent.stop
        else:
            self.failed_requests = 0
        with transaction.atomic():
            for handler, indexes in batch.handlers:
                handler([sent.results[i] for i in indexes])
            self.recorder.flush()
            self.recorder.save_counters(vk_requests=self.transport.client.requests_made)
        if self.on_batch:
            self.on_batch()

    def _send_or_stop(self, batch: Batch) -> None:
        self._send(batch)
        if self.stop_error is not None:
            raise Stop(self.stop_error)

    def _urls_handler(self, results: list[VkCallResult]) -> None:
        for result in results:
            if result.ok and isinstance(result.value, dict) and result.value.get("upload_url"):
                self.photos.add_url(result.value["upload_url"])
            elif not isinstance(result.error, NotSentError | UnknownOutcomeError):
                self._note_stop(result.error)

    def _note_stop(self, error) -> None:
        if error is not None and error.stops_run and not isinstance(error, VkUnavailableError):
            self.stop_error = self.stop_error or error

    # --- results of item calls ------------------------------------------------------------------
    def _item_handler(self, job: Job, *, with_photo: bool):
        def handle(results: list[VkCallResult]) -> None:
            main, error = answers.main_result(
                results, with_photo=with_photo, restore_deleted=job.item.restore_deleted
            )
            if main is None:
                self._item_failed(job, error)
            else:
                self._item_ok(job, main, photo_id=photo_id_of(results[0]) if with_photo else None)

        return handle

    def _item_ok(self, job: Job, main: VkCallResult, *, photo_id: int | None = None) -> None:
        link = job.link
        item = job.item
        if item.action == RunAction.DELETE:
            links.mark_deleted(link)
        else:
            created = item.action == RunAction.CREATE
            links.mark_applied(
                link,
                vk_item_id=int(main.value["market_item_id"]) if created else None,
                sent_fields=item.send_fields,
                set_hidden=item.set_hidden,
                photo_hash=job.photo_source.photo_hash if job.photo_source else None,
                vk_photo_id=photo_id,
            )
            if job.evotor_image is not None:
                links.remember_evotor_image(
                    link, note=job.evotor_image, source_hash=item.desired.source_hash
                )
        links.clear_error(link, sku=item.sku)
        self.recorder.dirty(link)
        self._finish(job, Outcome.ok())
        if item.action != RunAction.DELETE:
            self.albums.queue(job)

    def _item_failed(self, job: Job, error: VkApiError) -> None:
        link = job.link
        creating = job.action == RunAction.CREATE
        verdict = answers.verdict(
            error, action=job.action, restore_deleted=job.item.restore_deleted
        )
        if verdict == Verdict.LOST:
            self.unknown_creates.append(job)  # the link stays `creating`; resolved by sku
            return
        if verdict in (Verdict.NOT_SENT, Verdict.STOP) and creating:
            links.mark_not_sent(link)
            self.recorder.dirty(link)
        if verdict in (Verdict.RETRY, Verdict.NOT_SENT):
            self._retry(job, error)
            return
        if verdict == Verdict.STOP:
            # Token, captcha, Market off, limits inside `execute`: not done; the run stops.
            self._note_stop(error)
            if self.stop_error is None:
                self.stop_error = error
            self._finish(job, Outcome.failed(error.user_message))
            return
        if verdict == Verdict.ALREADY_DELETED:
            links.mark_already_deleted(link)
            self.recorder.dirty(link)
            self._finish(job, Outcome.ok())
            return
        message = vk_message(error)
        if verdict == Verdict.GONE:
            # Gone from VK (deleted by hand): forget it; the next run creates it again.
            links.forget_vk_item(link)
            links.record_refusal(link, message)
        else:
            links.mark_refused(link, message)
        self.recorder.dirty(link)
        self._finish(job, Outcome.failed(message))

    def _retry(self, job: Job, error: VkApiError) -> None:
        job.attempts += 1
        if job.attempts >= MAX_ATTEMPTS:
            self._finish(job, Outcome.failed(vk_message(error)))
        elif job.needs_photo:
            self.photos.upload_again(job)
        else:
            self.simple.append(job)

    # --- bookkeeping ----------------------------------------------------------------------------
    def _finish(
        self, job: Job, outcome: Outcome, *, flag: bool = False, count_failure: bool = True
    ) -> None:
        if job.finished:
            return
        job.finished = True
        if flag:
            # A reason code the pages explain on the product (sync.reasons).
            job.link.last_error = outcome.error
            self.recorder.dirty(job.link)
        self.recorder.item_done(job.item, job.link, outcome, count_failure=count_failure)

    def _abandon_rest(self, reason: str) -> None:
        """Every item not yet sent ends `failed` with `reason` (a sync.reasons code)."""
        for job in [*self.photos.unsent(), *self.simple]:
            self._finish(job, Outcome.failed(reason))
        self.simple.clear()
