"""What each item's answer means for it: the ItemLink state, the run item, a retry or a stop.

The executor (sync/publish/executor.py) composes and sends requests; the handlers made here
read their answers. `ItemOutcomes` is the executor's collaborator, sharing its queues (the photo
pipeline and the items without photos), the albums and the run's stop signal. Nothing here sends.
"""

from __future__ import annotations

import logging
from collections import deque

from connections.evotor_client import EvotorAuthError
from connections.vk_client import VkCallResult
from connections.vk_errors import VkApiError, VkUnavailableError
from sync import reasons
from sync.models import RunAction
from sync.publish import answers, calls, links
from sync.publish.albums import Albums
from sync.publish.answers import Verdict
from sync.publish.photo_prep import PhotoUnavailable
from sync.publish.pipeline import PhotoGroup, PhotoPipeline
from sync.publish.records import RunRecorder, photo_id_of, vk_message
from sync.publish.transport import NotSentError, UnknownOutcomeError
from sync.publish.work import MAX_ATTEMPTS, EvotorStopped, Job, Outcome

logger = logging.getLogger(__name__)

UNKNOWN_METHOD = 3  # market.saveProductPhotoBulk on a VK without bulk uploads


class RunStop:
    """The error that stops the run (the first that counts); the executor raises `Stop` on it."""

    def __init__(self):
        self.error: Exception | None = None

    def note(self, error) -> None:
        """Keep `error` if it stops runs; VK being down is retried, not a stop."""
        if error is not None and error.stops_run and not isinstance(error, VkUnavailableError):
            self.error = self.error or error

    def set(self, error) -> None:
        self.error = self.error or error


class ItemOutcomes:
    """Turns answers into item outcomes. `unknown_creates` collects the new items whose
    `market.add` answer was lost (their links stay `creating`; sync/publish/recovery.py)."""

    def __init__(
        self,
        *,
        recorder: RunRecorder,
        photos: PhotoPipeline,
        albums: Albums,
        simple: deque[Job],
        stop: RunStop,
    ):
        self.recorder = recorder
        self.photos = photos
        self.albums = albums
        self.simple = simple
        self.stop = stop
        self.unknown_creates: list[Job] = []

    @property
    def run_id(self) -> int:
        return self.recorder.run.pk

    def group_handler(self, group: PhotoGroup):
        """A photo group's results: [save, add/edit per job]. A refused bulk save sends the
        group back for a fresh upload (sync/publish/pipeline.py); otherwise each item is judged
        on its own save result (its entry of the bulk answer) and its add/edit."""

        def handle(results: list[VkCallResult]) -> None:
            save, mains = results[0], results[1:]
            error = save.error
            if group.bulk and error is not None and error.code == UNKNOWN_METHOD:
                logger.info("VK refused bulk photo saves", extra={"code": error.code})
                self.back_to_upload(group.jobs)
                self.photos.refuse_bulk()
                for job in group.jobs:
                    self.photos.upload_again(job)
                return
            refused = (
                error is not None
                and not error.stops_run
                and not isinstance(error, NotSentError | UnknownOutcomeError)
            )
            if group.bulk and refused and len(group.jobs) > 1:
                self.back_to_upload(group.jobs)
                self.photos.save_refused(group)
                return
            counts = group.extra_counts()
            offsets = calls.photo_offsets(counts)
            for job, main, first, extras in zip(group.jobs, mains, offsets, counts, strict=True):
                job.extra_photo_ids = _extra_ids_of(save, first, extras)
                handler = self.item_handler(job, with_photo=True)
                handler([_save_result_of(save, first, bulk=group.bulk), main])
                if job.finished:
                    # Never uploaded again: its files need not wait with it for the album
                    # memberships (up to 99 items an album).
                    job.release_files()

        return handle

    def back_to_upload(self, jobs: list[Job]) -> None:
        """Their adds were skipped (the save they depend on failed): not in VK."""
        for job in jobs:
            if job.action == RunAction.CREATE:
                links.mark_not_sent(job.link)
                self.recorder.dirty(job.link)

    def item_handler(self, job: Job, *, with_photo: bool):
        def handle(results: list[VkCallResult]) -> None:
            main, error = answers.main_result(
                results, with_photo=with_photo, restore_deleted=job.item.restore_deleted
            )
            if main is None:
                self.item_failed(job, error)
            else:
                self.item_ok(job, main, photo_id=photo_id_of(results[0]) if with_photo else None)

        return handle

    def item_ok(self, job: Job, main: VkCallResult, *, photo_id: int | None = None) -> None:
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
            if created and job.with_extras:
                links.record_extra_photos(link, _extra_pairs(job))
        links.clear_error(link, sku=item.sku)
        self.recorder.dirty(link)
        self.finish(job, Outcome.ok())
        if item.action != RunAction.DELETE:
            self.albums.queue(job)

    def item_failed(self, job: Job, error: VkApiError) -> None:
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
            self.retry(job, error)
            return
        if verdict == Verdict.STOP:
            # Token, captcha, Market off, limits inside `execute`: not done; the run stops.
            self.stop.set(error)
            self.finish(job, Outcome.failed(error.user_message))
            return
        if verdict == Verdict.ALREADY_DELETED:
            links.mark_already_deleted(link)
            self.recorder.dirty(link)
            self.finish(job, Outcome.ok())
            return
        message = vk_message(error)
        if verdict == Verdict.GONE:
            # Gone from VK (deleted by hand): forget it; the next run creates it again.
            links.forget_vk_item(link)
            links.record_refusal(link, message)
        else:
            links.mark_refused(link, message)
        self.recorder.dirty(link)
        self.finish(job, Outcome.failed(message))

    def retry(self, job: Job, error: VkApiError) -> None:
        job.attempts += 1
        if job.attempts >= MAX_ATTEMPTS:
            self.finish(job, Outcome.failed(vk_message(error)))
        elif job.needs_photo:
            self.photos.upload_again(job)
        else:
            self.simple.append(job)

    # --- bookkeeping ----------------------------------------------------------------------------
    def finish(
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

    def abandon_rest(self, reason: str) -> None:
        """Every item not yet sent ends `failed` with `reason` (a sync.reasons code)."""
        for job in [*self.photos.unsent(), *self.simple]:
            self.finish(job, Outcome.failed(reason))
        self.simple.clear()

    def photo_failed(self, job: Job, error: Exception) -> None:
        """A photo the pool could not get ready: the item is skipped or failed, or the run
        stops (Evotor token revoked)."""
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
                            "run_id": self.run_id,
                            "reason": error.code,
                            "detail": error.detail,
                        },
                    )
                self.finish(job, Outcome.skipped(error.code), flag=True)
            else:
                logger.info(
                    "photo unavailable",
                    extra={
                        "run_id": self.run_id,
                        "reason": error.code,
                        "detail": error.detail,
                    },
                )
                self.finish(job, Outcome.failed(error.code))
        elif isinstance(error, EvotorAuthError):
            self.stop.error = EvotorStopped(str(error))
            self.finish(job, Outcome.failed(reasons.EVOTOR_TOKEN_REVOKED), count_failure=False)
        elif isinstance(error, VkApiError):  # the upload failed MAX_ATTEMPTS times
            self.finish(job, Outcome.failed(error.user_message))
        else:  # a bug must cost one item, not the run
            logger.error(
                "preparing a photo failed",
                exc_info=error,
                extra={"run_id": self.run_id},
            )
            self.finish(job, Outcome.failed(reasons.PHOTO_FAILED))


def _save_result_of(save: VkCallResult, n: int, *, bulk: bool) -> VkCallResult:
    """One item's share of a save: the `n`-th entry of a bulk save's list."""
    if not bulk or not save.ok:
        return save
    value = save.value[n] if isinstance(save.value, list) and n < len(save.value) else None
    return VkCallResult(save.call, value=value)


def _extra_ids_of(save: VkCallResult, first: int, extras: int) -> list[int]:
    """The photo ids a bulk save gave an item's extras (right after its main photo's)."""
    if not extras or not save.ok or not isinstance(save.value, list):
        return []
    entries = save.value[first + 1 : first + 1 + extras]
    return [int(entry["photo_id"]) for entry in entries if isinstance(entry, dict)]


def _extra_pairs(job: Job) -> list[list]:
    """[hash, VK photo id] of a new item's extras; none unless every one was saved (then the
    extra-photo step sends the whole set again)."""
    if len(job.extra_photo_ids) != len(job.extra_sources):
        return []
    return [
        [source.photo_hash, photo_id]
        for source, photo_id in zip(job.extra_sources, job.extra_photo_ids, strict=True)
    ]
