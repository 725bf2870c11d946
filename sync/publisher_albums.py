"""The albums half of the publisher (sync/publisher.py): albums made from Evotor groups, and
items put into (or taken out of) them.

Albums are made before the items (`market.addAlbum`, packed like everything else); an item joins
its album once VK gave it an id, 100 items per `market.addToAlbum` (`item_ids` array,
vk-market-api.md §3). An album shared by groups of one title is made once.
"""

from __future__ import annotations

import logging

from connections.vk_client import VkCallResult
from connections.vk_script import VkCall
from sync.models import AlbumLink
from sync.records import vk_message
from sync.transport import NotSentError, UnknownOutcomeError
from sync.work import Batch, Job, Stop

logger = logging.getLogger(__name__)

ALREADY_IN_ALBUM = 1404
ALBUM_NOT_FOUND = 1402
NOT_FOUND = 1403


class AlbumsMixin:
    """Needs the publisher's `run_row`, `plan`, `owner_id`, `transport`, `album_of_title`,
    `linked_groups`, `album_adds`, `album_singles`, `album_removes`, `stop_error`, `_send`,
    `_dirty` and `_note_stop`."""

    def _apply_albums(self) -> None:
        user = self.run_row.user
        existing = list(AlbumLink.objects.filter(user=user))
        for album in existing:
            self.album_of_title.setdefault(album.title.casefold(), album.vk_album_id)
            self.linked_groups.add((album.store_id, album.group_id))
        to_create = []
        for album in self.plan.albums_to_create:
            folded = album.title.casefold()
            if album.adopt_vk_album_id:
                self._link_album(album.group_keys, album.adopt_vk_album_id, album.title)
            elif folded in self.album_of_title:
                self._link_album(album.group_keys, self.album_of_title[folded], album.title)
            else:
                to_create.append(album)
        for rename in self.plan.album_renames:
            to_create.append(rename)
        while to_create:
            batch = Batch()
            while to_create and len(batch.calls) < self.transport.max_calls:
                entry = to_create.pop(0)
                if hasattr(entry, "new_title"):
                    call = VkCall(
                        "market.editAlbum",
                        {
                            "owner_id": self.owner_id,
                            "album_id": entry.vk_album_id,
                            "title": entry.new_title,
                        },
                    )
                    batch.add([call], self._album_renamed(entry))
                else:
                    call = VkCall(
                        "market.addAlbum", {"owner_id": self.owner_id, "title": entry.title}
                    )
                    batch.add([call], self._album_created(entry))
            self._send(batch)
            if self.stop_error is not None:
                raise Stop(self.stop_error)

    def _link_album(self, group_keys, vk_album_id: int, title: str) -> None:
        user = self.run_row.user
        for store_id, group_id in group_keys:
            self.linked_groups.add((store_id, group_id))
            AlbumLink.objects.update_or_create(
                user=user,
                store_id=store_id,
                group_id=group_id,
                defaults={"vk_album_id": vk_album_id, "title": title[:128]},
            )
        self.album_of_title[title.casefold()] = vk_album_id

    def _album_created(self, album):
        def handle(results: list[VkCallResult]) -> None:
            (result,) = results
            if result.ok:
                self._link_album(
                    album.group_keys, int(result.value["market_album_id"]), album.title
                )
                self.run_row.albums_created += 1
            else:
                logger.warning(
                    "VK refused an album",
                    extra={"run_id": self.run_row.pk, "code": result.error.code},
                )

        return handle

    def _album_renamed(self, rename):
        def handle(results: list[VkCallResult]) -> None:
            (result,) = results
            if result.ok:
                AlbumLink.objects.filter(
                    user=self.run_row.user, vk_album_id=rename.vk_album_id
                ).update(title=rename.new_title[:128])
                self.album_of_title[rename.new_title.casefold()] = rename.vk_album_id

        return handle

    def _queue_albums(self, job: Job) -> None:
        item = job.item
        link = job.link
        if link.vk_item_id is None:
            return
        if item.album_remove:
            self.album_removes.append((job, list(item.album_remove)))
        if item.album_add:
            album_id = self.album_of_title.get(item.album_add.casefold())
            if album_id is None:
                return  # VK refused the album; the next run tries again
            key = (item.store_id, item.desired.album_group_id) if item.desired else None
            if key and key[1] and key not in self.linked_groups:
                self.linked_groups.add(key)
                AlbumLink.objects.get_or_create(
                    user=self.run_row.user,
                    store_id=key[0],
                    group_id=key[1],
                    defaults={"vk_album_id": album_id, "title": item.album_add[:128]},
                )
            if album_id not in (link.album_ids or []):
                self.album_adds[album_id].append(job)

    def _album_add_handler(self, album_id: int, jobs: list[Job], *, single: bool = False):
        def handle(results: list[VkCallResult]) -> None:
            (result,) = results
            error = result.error
            if result.ok or (single and error.code in (ALREADY_IN_ALBUM,)):
                for job in jobs:
                    job.link.album_ids = sorted({*(job.link.album_ids or []), album_id})
                    self._dirty(job.link)
                return
            if isinstance(error, NotSentError | UnknownOutcomeError):
                self.album_adds[album_id].extend(jobs)
                return
            if error.code == ALBUM_NOT_FOUND:
                # The merchant deleted the album in VK: forget it; the next run makes it again.
                AlbumLink.objects.filter(user=self.run_row.user, vk_album_id=album_id).delete()
                return
            if error.code in (ALREADY_IN_ALBUM, NOT_FOUND) and not single:
                # One item of the batch was already there (or is gone): one by one instead.
                self.album_singles.extend((album_id, job) for job in jobs)
                return
            self._note_stop(error)
            for job in jobs:
                job.link.last_error = vk_message(error)
                self._dirty(job.link)

        return handle

    def _album_remove_handler(self, job: Job, album_ids: list[int]):
        def handle(results: list[VkCallResult]) -> None:
            (result,) = results
            if result.ok or result.error.code in (ALBUM_NOT_FOUND, NOT_FOUND):
                job.link.album_ids = sorted(set(job.link.album_ids or []) - set(album_ids))
                self._dirty(job.link)
            elif isinstance(result.error, NotSentError | UnknownOutcomeError):
                self.album_removes.append((job, album_ids))
            else:
                self._note_stop(result.error)

        return handle
