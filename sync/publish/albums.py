"""Albums: the ones made from Evotor groups, and items put into (or taken out of) them.

Albums are made before the items (`market.addAlbum`, packed like everything else); an item joins
its album once VK gave it an id, 100 items per `market.addToAlbum` (`item_ids` array,
docs/contracts/vk-market-api.md §3). An album shared by groups of one title is made once.

A collaborator of the executor (sync/publish/executor.py), which hands it what it needs at
construction and calls `apply`, `queue`, `has_work`, `ready_calls` and `compose`.
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from collections.abc import Callable

from connections.vk_client import VkCallResult
from connections.vk_script import VkCall
from sync.models import AlbumLink
from sync.plan.plan import AlbumPlan, AlbumRename, Plan
from sync.publish.records import RunRecorder, vk_message
from sync.publish.transport import NotSentError, UnknownOutcomeError
from sync.publish.work import Batch, Job

logger = logging.getLogger(__name__)

ADD_TO_ALBUM_BATCH = 100  # item ids per market.addToAlbum
ALREADY_IN_ALBUM = 1404
ALBUM_NOT_FOUND = 1402
NOT_FOUND = 1403


class Albums:
    """The albums of one run.

    user, owner_id: whose community; recorder: where links and counters are recorded;
    note_stop: called with a VK error that may stop the run (the executor decides).
    """

    def __init__(
        self,
        *,
        user,
        owner_id: int,
        recorder: RunRecorder,
        note_stop: Callable[[Exception | None], None],
    ):
        self.user = user
        self.owner_id = owner_id
        self.recorder = recorder
        self.note_stop = note_stop
        self.album_of_title: dict[str, int] = {}
        self.linked_groups: set[tuple[str, str]] = set()  # groups known to have an AlbumLink
        self.adds: dict[int, list[Job]] = defaultdict(list)
        self.singles: deque[tuple[int, Job]] = deque()
        self.removes: deque[tuple[Job, list[int]]] = deque()

    def managed_ids(self) -> set[int]:
        return set(self.album_of_title.values())

    # --- before the items: make, adopt and rename albums --------------------------------------
    def apply(self, plan: Plan, *, send: Callable[[Batch], None], max_calls: int) -> None:
        """Link the albums we have, then make and rename what the plan says. `send` sends one
        request and raises sync.publish.work.Stop when the run must stop."""
        for album in AlbumLink.objects.filter(user=self.user):
            self.album_of_title.setdefault(album.title.casefold(), album.vk_album_id)
            self.linked_groups.add((album.store_id, album.group_id))
        to_send: list[AlbumPlan | AlbumRename] = []
        for album in plan.albums_to_create:
            folded = album.title.casefold()
            if album.adopt_vk_album_id:
                self._link(album.group_keys, album.adopt_vk_album_id, album.title)
            elif folded in self.album_of_title:
                self._link(album.group_keys, self.album_of_title[folded], album.title)
            else:
                to_send.append(album)
        to_send.extend(plan.album_renames)
        while to_send:
            batch = Batch()
            while to_send and len(batch.calls) < max_calls:
                entry = to_send.pop(0)
                if isinstance(entry, AlbumRename):
                    params = {
                        "owner_id": self.owner_id,
                        "album_id": entry.vk_album_id,
                        "title": entry.new_title,
                    }
                    batch.add([VkCall("market.editAlbum", params)], self._renamed(entry))
                else:
                    params = {"owner_id": self.owner_id, "title": entry.title}
                    batch.add([VkCall("market.addAlbum", params)], self._created(entry))
            send(batch)

    def _link(self, group_keys, vk_album_id: int, title: str) -> None:
        for store_id, group_id in group_keys:
            self.linked_groups.add((store_id, group_id))
            AlbumLink.objects.update_or_create(
                user=self.user,
                store_id=store_id,
                group_id=group_id,
                defaults={"vk_album_id": vk_album_id, "title": title[:128]},
            )
        self.album_of_title[title.casefold()] = vk_album_id

    def _created(self, album: AlbumPlan):
        def handle(results: list[VkCallResult]) -> None:
            (result,) = results
            if result.ok:
                self._link(album.group_keys, int(result.value["market_album_id"]), album.title)
                self.recorder.count("albums_created")
            else:
                logger.warning(
                    "VK refused an album",
                    extra={"run_id": self.recorder.run.pk, "code": result.error.code},
                )

        return handle

    def _renamed(self, rename: AlbumRename):
        def handle(results: list[VkCallResult]) -> None:
            (result,) = results
            if result.ok:
                AlbumLink.objects.filter(user=self.user, vk_album_id=rename.vk_album_id).update(
                    title=rename.new_title[:128]
                )
                self.album_of_title[rename.new_title.casefold()] = rename.vk_album_id

        return handle

    # --- with the items: memberships ----------------------------------------------------------
    def queue(self, job: Job) -> None:
        """The item is in VK: queue the album changes its plan item asks for."""
        item = job.item
        link = job.link
        if link.vk_item_id is None:
            return
        if item.album_remove:
            self.removes.append((job, list(item.album_remove)))
        if item.album_add:
            album_id = self.album_of_title.get(item.album_add.casefold())
            if album_id is None:
                return  # VK refused the album; the next run tries again
            key = (item.store_id, item.desired.album_group_id) if item.desired else None
            if key and key[1] and key not in self.linked_groups:
                self.linked_groups.add(key)
                AlbumLink.objects.get_or_create(
                    user=self.user,
                    store_id=key[0],
                    group_id=key[1],
                    defaults={"vk_album_id": album_id, "title": item.album_add[:128]},
                )
            if album_id not in (link.album_ids or []):
                self.adds[album_id].append(job)

    def has_work(self) -> bool:
        return bool(self.singles or self.removes or any(self.adds.values()))

    def ready_calls(self) -> int:
        """Calls that would go out now without waiting for more items."""
        full = sum(1 for jobs in self.adds.values() if len(jobs) >= ADD_TO_ALBUM_BATCH)
        return len(self.singles) + len(self.removes) + full

    def compose(self, batch: Batch, *, limit: int, flush_partial: bool) -> None:
        """Add album calls to `batch` up to `limit` calls. Additions go 100 items a call; a
        smaller one only when no more items will come (`flush_partial`)."""
        for album_id in list(self.adds):
            jobs = self.adds[album_id]
            while jobs and (len(jobs) >= ADD_TO_ALBUM_BATCH or flush_partial):
                if len(batch.calls) >= limit:
                    break
                chunk, self.adds[album_id] = jobs[:ADD_TO_ALBUM_BATCH], jobs[ADD_TO_ALBUM_BATCH:]
                jobs = self.adds[album_id]
                batch.add([self._add_call(album_id, chunk)], self._added(album_id, chunk))
            if not self.adds[album_id]:
                del self.adds[album_id]
        while self.singles and len(batch.calls) < limit:
            album_id, job = self.singles.popleft()
            batch.add([self._add_call(album_id, [job])], self._added(album_id, [job], single=True))
        while self.removes and len(batch.calls) < limit:
            job, album_ids = self.removes.popleft()
            params = {
                "owner_id": self.owner_id,
                "item_id": job.link.vk_item_id,
                "album_ids": album_ids,
            }
            batch.add([VkCall("market.removeFromAlbum", params)], self._removed(job, album_ids))

    def _add_call(self, album_id: int, jobs: list[Job]) -> VkCall:
        return VkCall(
            "market.addToAlbum",
            {
                "owner_id": self.owner_id,
                "item_ids": [job.link.vk_item_id for job in jobs],
                "album_ids": [album_id],
            },
        )

    def _added(self, album_id: int, jobs: list[Job], *, single: bool = False):
        def handle(results: list[VkCallResult]) -> None:
            (result,) = results
            error = result.error
            if result.ok or (single and error.code in (ALREADY_IN_ALBUM,)):
                for job in jobs:
                    job.link.album_ids = sorted({*(job.link.album_ids or []), album_id})
                    self.recorder.dirty(job.link)
                return
            if isinstance(error, NotSentError | UnknownOutcomeError):
                self.adds[album_id].extend(jobs)
                return
            if error.code == ALBUM_NOT_FOUND:
                # The merchant deleted the album in VK: forget it; the next run makes it again.
                AlbumLink.objects.filter(user=self.user, vk_album_id=album_id).delete()
                return
            if error.code in (ALREADY_IN_ALBUM, NOT_FOUND) and not single:
                # One item of the batch was already there (or is gone): one by one instead.
                self.singles.extend((album_id, job) for job in jobs)
                return
            self.note_stop(error)
            for job in jobs:
                job.link.last_error = vk_message(error)
                self.recorder.dirty(job.link)

        return handle

    def _removed(self, job: Job, album_ids: list[int]):
        def handle(results: list[VkCallResult]) -> None:
            (result,) = results
            if result.ok or result.error.code in (ALBUM_NOT_FOUND, NOT_FOUND):
                job.link.album_ids = sorted(set(job.link.album_ids or []) - set(album_ids))
                self.recorder.dirty(job.link)
            elif isinstance(result.error, NotSentError | UnknownOutcomeError):
                self.removes.append((job, album_ids))
            else:
                self.note_stop(result.error)

        return handle
