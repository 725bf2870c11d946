"""The publisher: applies a plan to VK, recording each item's result as it arrives.

How a run stays fast (product.md "Limits": 3 requests per second, 25 calls per `execute`):
- every request is an `execute` filled to 25 calls from whatever is ready: a new item is a
  `market.saveProductPhoto` + `market.add` pair chained by `VkRef` (2 calls), an edit, hide,
  restore or delete is one call, album memberships go 100 items per `market.addToAlbum`, and
  the remaining room fetches upload URLs (`market.getProductPhotoUploadServer`) ahead of need;
- Evotor image look-ups and downloads, image normalization and the uploads to VK's upload
  server (not API requests) run in a small thread pool while the main thread waits for its next
  request slot, so the wall time is the rate limit's, not the sum of the steps;
- a request is sent when its slot comes, with whatever is ready, or earlier once it is full.

How a run stays right (competitors.md §3.1, §3.5):
- a new item's link is written `creating`, with the sku and the fields being sent, BEFORE the
  request leaves; the answer then makes it `published`/`hidden` with the VK item id. A run that
  dies in between (worker killed, answer lost) leaves `creating` links, which the next run
  resolves by looking the sku up in VK (sync.adoption): adopted if VK made the item, created
  again if not. No duplicate, no lost link.
- every batch's results are written in one transaction as soon as they arrive (links, the run's
  counters and `done`, one SyncRunItem per item);
- an item VK refuses keeps VK's message on its link and run item and is tried again next run;
  the rest of the run goes on. Token revoked (5), captcha (14), Market off (1438), missing rights,
  persistent limits (6, 9) or VK down stop the run; the caller (sync/runs.py) decides its status.

No database access happens outside the main thread.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from django.db import transaction
from django.utils import timezone

from connections.evotor_client import EvotorAuthError
from connections.vk_client import VkCallResult
from connections.vk_errors import (
    VkApiError,
    VkDependencyError,
    VkItemError,
    VkUnavailableError,
)
from connections.vk_script import VkCall, VkRef
from sync import reasons, rules
from sync.models import (
    ItemLink,
    LinkState,
    RunAction,
    RunItemStatus,
    SyncRun,
    SyncRunItem,
)
from sync.photos import KEEP_VK_PHOTO, PhotoUnavailable, prepare_photo
from sync.planner import ADOPT, CREATE, DELETE, HIDE, RESTORE, UPDATE, Plan, PlanItem
from sync.publisher_albums import AlbumsMixin
from sync.records import jsonable, photo_id_of, save_links, vk_message
from sync.transport import NotSentError, UnknownOutcomeError
from sync.work import Batch, EvotorStopped, Job, Outcome, Stop

logger = logging.getLogger(__name__)

ADD_TO_ALBUM_BATCH = 100  # item ids per market.addToAlbum
PREP_WINDOW = 120  # photos being read/normalized/uploaded or waiting, at most
URL_WINDOW = 100  # upload URLs fetched ahead of use, at most
URL_AHEAD = 48  # items ready to go out (URL in hand) the composer keeps up, about 4 requests' worth
MIN_PAIRS = 8  # new items per request the composer never gives up for URL fetches
POOL_SIZE = 8
MAX_ATTEMPTS = 3  # tries of one item within a run (requests refused as a whole, uploads)
MAX_FAILED_REQUESTS = 3  # consecutive requests VK did not answer before the run gives up
NOT_FOUND = 1403
TOO_LATE_TO_RESTORE = 1400
NOT_DELETED = 1518

COUNTER_OF_ACTION = {
    CREATE: "created",
    UPDATE: "updated",
    HIDE: "hidden",
    RESTORE: "restored",
    DELETE: "deleted",
    ADOPT: "adopted",
}


class Publisher(AlbumsMixin):
    """Applies one plan for one merchant. `run()` returns normally or raises `Stop`."""

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
        pool_size: int = POOL_SIZE,
    ):
        self.run_row = run
        self.plan = plan
        self.links = links
        self.transport = transport
        self.group_id = int(group_id)
        self.owner_id = -int(group_id)
        self.evotor = evotor_client
        self.on_batch = on_batch
        self.pool = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="sync-photo")
        # queues
        self.to_prep: deque[Job] = deque()
        self.prepping: list[Job] = []
        self.waiting_url: deque[Job] = deque()
        self.uploading: list[Job] = []
        self.ready: deque[Job] = deque()
        self.simple: deque[Job] = deque()
        self.spare_urls: deque[str] = deque()
        self.urls_requested = 0
        self.album_adds: dict[int, list[Job]] = defaultdict(list)
        self.album_singles: deque[tuple[int, Job]] = deque()
        self.album_removes: deque[tuple[Job, list[int]]] = deque()
        self.unknown_creates: list[Job] = []
        self.album_of_title: dict[str, int] = {}
        self.failed_requests = 0
        self.stop_error: Exception | None = None
        self.pending_items: list[SyncRunItem] = []
        self._jpegs: dict[str, bytes] = {}  # normalized fallback photos, by fingerprint
        self.linked_groups: set[tuple[str, str]] = set()  # groups known to have an AlbumLink
        self.dirty_links: dict[int, ItemLink] = {}

    # --- entry point ----------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._apply_albums()
            self._start_jobs()
            self._loop()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self._flush()

    # --- jobs -----------------------------------------------------------------------------------
    def _start_jobs(self) -> None:
        """Links for every item to apply (created now if new), adoptions recorded, queues filled."""
        now = timezone.now()
        user = self.run_row.user
        new_links = []
        for item in self.plan.items:
            if item.skipped or item.key in self.links:
                continue
            new_links.append(
                ItemLink(
                    user=user,
                    store_id=item.store_id,
                    product_id=item.product_id,
                    product_name=item.product_name[:255],
                    sku=item.sku or (item.desired.fields["sku"] if item.desired else ""),
                    state=LinkState.PENDING,
                )
            )
        if new_links:
            ItemLink.objects.bulk_create(new_links, batch_size=500)
            wanted = {(link.store_id, link.product_id) for link in new_links}
            for link in ItemLink.objects.filter(user=user, vk_item_id__isnull=True):
                if (link.store_id, link.product_id) in wanted:
                    self.links[(link.store_id, link.product_id)] = link

        for item in self.plan.items:
            link = self.links.get(item.key)
            if item.skipped:
                self._record_skipped(item, link)
                continue
            job = Job(item=item, link=link)
            if item.action == ADOPT:
                self._adopt(job, now)
            if item.action == CREATE or (item.photo is not None and not item.restore_deleted):
                job.needs_photo = True
                self.to_prep.append(job)
            elif (
                item.action == DELETE
                or item.restore_deleted
                or item.send_fields
                or (item.set_hidden is not None)
            ):
                self.simple.append(job)
            else:
                # Only album memberships change (or an adoption with nothing to send).
                self._finish(job, Outcome("ok"))
                self._queue_albums(job)
        self._flush()

    def _adopt(self, job: Job, now) -> None:
        vk = job.item.adopt_from
        link = job.link
        link.vk_item_id = vk.vk_id
        link.adopted = True
        link.state = LinkState.HIDDEN if vk.hidden else LinkState.PUBLISHED
        link.published_fields = {**vk.as_fields(), "hidden": vk.hidden}
        link.content_hash = rules.fields_hash(vk.as_fields())
        link.photo_hash = KEEP_VK_PHOTO
        link.album_ids = sorted(set(vk.album_ids) & set(self.album_of_title.values()))
        link.published_at = link.published_at or now
        link.last_error = ""
        link.save()

    # --- the loop -------------------------------------------------------------------------------
    def _work_left(self) -> bool:
        return bool(
            self.to_prep
            or self.prepping
            or self.waiting_url
            or self.uploading
            or self.ready
            or self.simple
            or self.album_singles
            or self.album_removes
            or any(self.album_adds.values())
        )

    def _in_flight(self) -> bool:
        return bool(self.prepping or self.uploading)

    def _loop(self) -> None:
        while self._work_left():
            self._advance_pipeline()
            if self.stop_error is not None:
                raise Stop(self.stop_error)
            if not self._ready_to_send():
                self._wait_for_pipeline()
                continue
            batch = self._compose()
            if not batch.calls:
                if not self._in_flight():
                    # Nothing can make progress (should not happen): give up on the rest.
                    self._abandon_rest(reasons.NOT_SENT)
                    return
                self._wait_for_pipeline()
                continue
            self._send(batch)
            if self.stop_error is not None:
                raise Stop(self.stop_error)

    def _potential(self) -> int:
        """How many calls are ready to go right now."""
        calls = 2 * len(self.ready) + len(self.simple) + len(self.album_singles)
        calls += len(self.album_removes)
        calls += sum(1 for jobs in self.album_adds.values() if len(jobs) >= ADD_TO_ALBUM_BATCH)
        calls += self._urls_wanted()
        return calls

    def _ready_to_send(self) -> bool:
        """Send when the batch would be full, or when our next request slot has come."""
        potential = self._potential()
        if potential >= self.transport.max_calls:
            return True
        if not self._in_flight() and not self.to_prep:
            return True  # nothing more will become ready by waiting
        if potential == 0:
            return False
        return time.monotonic() >= self.transport.next_slot

    def _wait_for_pipeline(self) -> None:
        futures = [job.prep for job in self.prepping] + [job.upload for job in self.uploading]
        timeout = max(0.005, self.transport.next_slot - time.monotonic())
        if futures:
            wait(futures, timeout=min(timeout, 0.5), return_when=FIRST_COMPLETED)
        else:
            time.sleep(min(timeout, 0.05))

    def _urls_needed(self) -> int:
        """Upload URLs still to fetch for the photos not yet uploading (at most URL_WINDOW)."""
        need = len(self.waiting_url) + len(self.prepping) + len(self.to_prep)
        return max(0, min(need, URL_WINDOW) - len(self.spare_urls))

    def _urls_wanted(self) -> int:
        """URLs to fetch in the next request so the items that can go out without a new fetch
        (spare URLs, uploads, ready pairs) stay about URL_AHEAD: enough for the next requests."""
        ahead = len(self.spare_urls) + len(self.uploading) + len(self.ready)
        return min(self._urls_needed(), max(0, URL_AHEAD - ahead))

    # --- the photo pipeline (pool threads: no database) -------------------------------------
    def _advance_pipeline(self) -> None:
        still = []
        for job in self.prepping:
            if not job.prep.done():
                still.append(job)
                continue
            try:
                job.jpeg, job.photo_source, job.evotor_image = job.prep.result()
            except PhotoUnavailable as exc:
                if exc.evotor_image:
                    job.link.evotor_image = exc.evotor_image
                    job.link.source_hash = job.item.desired.source_hash if job.item.desired else ""
                    self._dirty(job.link)
                if exc.none_found:
                    self._finish(job, Outcome("skipped", exc.code), flag=exc.code)
                else:
                    logger.info(
                        "photo unavailable",
                        extra={"run_id": self.run_row.pk, "reason": exc.code, "detail": exc.detail},
                    )
                    self._finish(job, Outcome("failed", exc.code))
                continue
            except EvotorAuthError as exc:
                self.stop_error = EvotorStopped(str(exc))
                self._finish(
                    job, Outcome("failed", reasons.EVOTOR_TOKEN_REVOKED), count_failure=False
                )
                continue
            except Exception:  # a bug must cost one item, not the run
                logger.exception("preparing a photo failed", extra={"run_id": self.run_row.pk})
                self._finish(job, Outcome("failed", reasons.PHOTO_FAILED))
                continue
            job.prep = None
            self.waiting_url.append(job)
        self.prepping = still

        while (
            self.to_prep
            and len(self.prepping) + len(self.waiting_url) + len(self.uploading) + len(self.ready)
            < PREP_WINDOW
        ):
            job = self.to_prep.popleft()
            job.prep = self.pool.submit(prepare_photo, job.item, self.evotor, self._jpegs)
            self.prepping.append(job)

        while self.waiting_url and self.spare_urls:
            job = self.waiting_url.popleft()
            url = self.spare_urls.popleft()
            job.upload = self.pool.submit(self.transport.client.upload_photo, url, job.jpeg)
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
                    self._finish(job, Outcome("failed", exc.user_message))
                continue
            job.upload = None
            self.ready.append(job)
        self.uploading = still

    # --- composing a request --------------------------------------------------------------------
    def _compose(self) -> Batch:
        batch = Batch()
        full = self.transport.max_calls
        # Room kept for URL fetches, so the photo pipeline never runs dry; the rest of the
        # request is filled first with ready items, then other work, then more URLs.
        reserved = min(self._urls_wanted(), full - 2 * min(len(self.ready), MIN_PAIRS))
        limit = full - max(0, reserved)
        while self.ready and len(batch.calls) + 2 <= limit:
            job = self.ready.popleft()
            save = VkCall("market.saveProductPhoto", {"upload_response": job.upload_response})
            main = self._main_call(job, photo_ref=VkRef(len(batch.calls), "photo_id"))
            batch.add([save, main], self._item_handler(job, with_photo=True))
            self._mark_creating(job)
        while self.simple and len(batch.calls) < limit:
            job = self.simple[0]
            calls = self._simple_calls(job)
            if len(batch.calls) + len(calls) > limit:
                break
            self.simple.popleft()
            batch.add(calls, self._item_handler(job, with_photo=False))
        for album_id in list(self.album_adds):
            jobs = self.album_adds[album_id]
            flush_partial = not (self.to_prep or self.prepping or self.waiting_url) and not (
                self.uploading or self.ready or self.simple
            )
            while jobs and (len(jobs) >= ADD_TO_ALBUM_BATCH or flush_partial):
                if len(batch.calls) >= limit:
                    break
                chunk, self.album_adds[album_id] = (
                    jobs[:ADD_TO_ALBUM_BATCH],
                    jobs[ADD_TO_ALBUM_BATCH:],
                )
                jobs = self.album_adds[album_id]
                call = VkCall(
                    "market.addToAlbum",
                    {
                        "owner_id": self.owner_id,
                        "item_ids": [j.link.vk_item_id for j in chunk],
                        "album_ids": [album_id],
                    },
                )
                batch.add([call], self._album_add_handler(album_id, chunk))
            if not self.album_adds[album_id]:
                del self.album_adds[album_id]
        while self.album_singles and len(batch.calls) < limit:
            album_id, job = self.album_singles.popleft()
            call = VkCall(
                "market.addToAlbum",
                {
                    "owner_id": self.owner_id,
                    "item_ids": [job.link.vk_item_id],
                    "album_ids": [album_id],
                },
            )
            batch.add([call], self._album_add_handler(album_id, [job], single=True))
        while self.album_removes and len(batch.calls) < limit:
            job, album_ids = self.album_removes.popleft()
            call = VkCall(
                "market.removeFromAlbum",
                {"owner_id": self.owner_id, "item_id": job.link.vk_item_id, "album_ids": album_ids},
            )
            batch.add([call], self._album_remove_handler(job, album_ids))
        urls = min(self._urls_needed(), full - len(batch.calls))
        if urls > 0:
            calls = [
                VkCall("market.getProductPhotoUploadServer", {"group_id": self.group_id})
                for _ in range(urls)
            ]
            batch.add(calls, self._urls_handler)
            self.urls_requested += urls
        self._flush()  # the `creating` marks are written before the request leaves
        return batch

    def _main_call(self, job: Job, *, photo_ref: VkRef | None) -> VkCall:
        item = job.item
        if item.action == CREATE:
            fields = {k: v for k, v in item.send_fields.items() if v is not None}
            params = {"owner_id": self.owner_id, **rules.vk_params(fields)}
            if item.set_hidden:
                params["deleted"] = 1
            params["main_photo_id"] = photo_ref
            return VkCall("market.add", params)
        params = {"owner_id": self.owner_id, "item_id": job.link.vk_item_id}
        params.update(rules.vk_params(item.send_fields))
        if item.set_hidden is not None:
            params["deleted"] = 1 if item.set_hidden else 0
        if photo_ref is not None:
            params["main_photo_id"] = photo_ref
        return VkCall("market.edit", params)

    def _simple_calls(self, job: Job) -> list[VkCall]:
        item = job.item
        if item.action == DELETE:
            return [
                VkCall("market.delete", {"owner_id": self.owner_id, "item_id": job.link.vk_item_id})
            ]
        calls = []
        if item.restore_deleted:
            calls.append(
                VkCall(
                    "market.restore", {"owner_id": self.owner_id, "item_id": job.link.vk_item_id}
                )
            )
        if item.send_fields or item.set_hidden is not None:
            calls.append(self._main_call(job, photo_ref=None))
        return calls

    def _mark_creating(self, job: Job) -> None:
        if job.action != CREATE:
            return
        link = job.link
        link.state = LinkState.CREATING
        link.sku = job.item.send_fields.get("sku") or link.sku
        link.published_fields = {**job.item.send_fields, "hidden": bool(job.item.set_hidden)}
        link.photo_hash = job.photo_source.photo_hash if job.photo_source else ""
        if job.evotor_image is not None:
            link.evotor_image = job.evotor_image
            link.source_hash = job.item.desired.source_hash
        self._dirty(link)

    # --- sending ---------------------------------------------------------------------------------
    def _send(self, batch: Batch) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            kinds = Counter(call.method.split(".")[1] for call in batch.calls)
            logger.debug(
                "sync request",
                extra={
                    "calls": dict(kinds),
                    "prepping": len(self.prepping),
                    "waiting_url": len(self.waiting_url),
                    "uploading": len(self.uploading),
                    "ready": len(self.ready),
                    "spare_urls": len(self.spare_urls),
                },
            )
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
            self._flush()
            self._save_run()
        if self.on_batch:
            self.on_batch()

    def _urls_handler(self, results: list[VkCallResult]) -> None:
        for result in results:
            if result.ok and isinstance(result.value, dict) and result.value.get("upload_url"):
                self.spare_urls.append(result.value["upload_url"])
            elif not isinstance(result.error, NotSentError | UnknownOutcomeError):
                self._note_stop(result.error)

    def _note_stop(self, error) -> None:
        if error is not None and error.stops_run and not isinstance(error, VkUnavailableError):
            self.stop_error = self.stop_error or error

    # --- results of item calls ------------------------------------------------------------------
    def _item_handler(self, job: Job, *, with_photo: bool):
        def handle(results: list[VkCallResult]) -> None:
            if with_photo:
                save, main = results
                if main.ok:
                    self._item_ok(job, main, photo_id=photo_id_of(save))
                    return
                error = main.error
                if isinstance(error, VkDependencyError) and not save.ok:
                    error = save.error
                self._item_failed(job, error)
                return
            if job.item.restore_deleted:
                restore, rest = results[0], results[1:]
                if not restore.ok and restore.error.code != NOT_DELETED:
                    self._item_failed(job, restore.error)
                    return
                if not rest:
                    self._item_ok(job, restore)
                    return
                main = rest[0]
            else:
                (main,) = results
            if main.ok:
                self._item_ok(job, main)
            else:
                self._item_failed(job, main.error)

        return handle

    def _item_ok(self, job: Job, main: VkCallResult, *, photo_id: int | None = None) -> None:
        link = job.link
        item = job.item
        now = timezone.now()
        if item.action == DELETE:
            link.state = LinkState.DELETED
            link.published_fields = {**link.published_fields, "hidden": True}
            link.album_ids = []
        else:
            if item.action == CREATE:
                link.vk_item_id = int(main.value["market_item_id"])
                link.published_fields = {}
                link.album_ids = []
            fields = {**link.published_fields, **item.send_fields}
            hidden = item.set_hidden if item.set_hidden is not None else bool(fields.get("hidden"))
            fields["hidden"] = hidden
            link.published_fields = fields
            link.content_hash = rules.fields_hash({k: fields.get(k) for k in rules.CONTENT_FIELDS})
            link.state = LinkState.HIDDEN if hidden else LinkState.PUBLISHED
            if job.photo_source is not None:
                link.photo_hash = job.photo_source.photo_hash
                link.vk_photo_id = photo_id
            if job.evotor_image is not None:
                link.evotor_image = job.evotor_image
                link.source_hash = item.desired.source_hash
            link.published_at = link.published_at or now
        link.sku = item.sku or link.sku
        link.last_error = ""
        link.error_count = 0
        self._dirty(link)
        self._finish(job, Outcome("ok"))
        if item.action != DELETE:
            self._queue_albums(job)

    def _item_failed(self, job: Job, error: VkApiError) -> None:
        link = job.link
        if isinstance(error, UnknownOutcomeError):
            if job.action == CREATE:
                # VK may have made it: the link stays `creating`; resolved by sku.
                self.unknown_creates.append(job)
                return
            self._retry(job, error)
            return
        if isinstance(error, NotSentError) or (
            isinstance(error, VkUnavailableError) and not error.may_have_applied
        ):
            if job.action == CREATE:
                link.state = LinkState.PENDING
                self._dirty(link)
            self._retry(job, error)
            return
        if error.stops_run and not isinstance(error, VkItemError):
            # Token, captcha, Market off, limits inside `execute`: not done; the run stops.
            if job.action == CREATE:
                link.state = LinkState.PENDING
                self._dirty(link)
            self._note_stop(error)
            if self.stop_error is None:
                self.stop_error = error
            self._finish(job, Outcome("failed", error.user_message))
            return
        if error.code == NOT_FOUND and job.action in (UPDATE, HIDE, RESTORE, ADOPT):
            # Gone from VK (deleted by hand): forget it; the next run creates it again.
            link.vk_item_id = None
            link.state = LinkState.PENDING
            link.published_fields = {}
            link.album_ids = []
            link.photo_hash = ""
        elif error.code == NOT_FOUND and job.action == DELETE:
            link.state = LinkState.DELETED
            self._dirty(link)
            self._finish(job, Outcome("ok"))
            return
        elif error.code in (TOO_LATE_TO_RESTORE, NOT_FOUND) and job.item.restore_deleted:
            link.vk_item_id = None
            link.state = LinkState.PENDING
            link.published_fields = {}
            link.album_ids = []
            link.photo_hash = ""
        elif job.action == CREATE:
            link.state = LinkState.FAILED
        else:
            link.state = LinkState.FAILED if link.vk_item_id is None else link.state
        message = vk_message(error)
        link.last_error = message
        link.error_count += 1
        self._dirty(link)
        self._finish(job, Outcome("failed", message))

    def _retry(self, job: Job, error: VkApiError) -> None:
        job.attempts += 1
        if job.attempts >= MAX_ATTEMPTS:
            self._finish(job, Outcome("failed", vk_message(error)))
            return
        if job.needs_photo:
            # A photo upload is good for one save: take a new URL and upload again.
            job.upload_response = None
            self.waiting_url.append(job)
        else:
            self.simple.append(job)

    # --- bookkeeping ----------------------------------------------------------------------------
    def _dirty(self, link: ItemLink) -> None:
        if link.pk is not None:
            self.dirty_links[link.pk] = link

    def _finish(
        self, job: Job, outcome: Outcome, *, flag: str = "", count_failure: bool = True
    ) -> None:
        if job.finished:
            return
        job.finished = True
        run = self.run_row
        item = job.item
        run.done += 1
        if outcome.status == "ok":
            setattr(
                run,
                COUNTER_OF_ACTION[item.action],
                getattr(run, COUNTER_OF_ACTION[item.action]) + 1,
            )
        elif outcome.status == "skipped":
            run.skipped += 1
            if flag:
                job.link.last_error = outcome.error
                self._dirty(job.link)
        elif count_failure:
            run.failed += 1
        self.pending_items.append(
            SyncRunItem(
                run=run,
                link=job.link,
                store_id=item.store_id,
                product_id=item.product_id,
                product_name=item.product_name[:255],
                action=item.action,
                status={"ok": RunItemStatus.OK, "failed": RunItemStatus.FAILED}.get(
                    outcome.status, RunItemStatus.SKIPPED
                ),
                error=outcome.error,
                changes=jsonable(item.changes),
            )
        )

    def _record_skipped(self, item: PlanItem, link: ItemLink | None) -> None:
        self.run_row.skipped += 1
        self.pending_items.append(
            SyncRunItem(
                run=self.run_row,
                link=link,
                store_id=item.store_id,
                product_id=item.product_id,
                product_name=item.product_name[:255],
                action=item.action if item.action in RunAction.values else RunAction.UPDATE,
                status=RunItemStatus.SKIPPED,
                # Flag codes: the pages say them in the merchant's words (sync_tags.FLAGS).
                error=", ".join(item.flags),
                changes=jsonable(item.changes),
            )
        )

    def _flush(self) -> None:
        if self.dirty_links:
            save_links(list(self.dirty_links.values()))
            self.dirty_links = {}
        if self.pending_items:
            SyncRunItem.objects.bulk_create(self.pending_items, batch_size=500)
            self.pending_items = []

    def _save_run(self) -> None:
        run = self.run_row
        SyncRun.objects.filter(pk=run.pk).update(
            done=run.done,
            created=run.created,
            updated=run.updated,
            hidden=run.hidden,
            restored=run.restored,
            deleted=run.deleted,
            adopted=run.adopted,
            failed=run.failed,
            skipped=run.skipped,
            albums_created=run.albums_created,
            vk_requests=self.transport.client.requests_made,
        )

    def _abandon_rest(self, reason: str) -> None:
        """Every item not yet sent ends `failed` with `reason` (a sync.reasons code)."""
        for queue in (self.to_prep, self.waiting_url, self.ready, self.simple):
            while queue:
                self._finish(queue.popleft(), Outcome("failed", reason))


__all__ = ["EvotorStopped", "Publisher", "Stop", "vk_message"]
