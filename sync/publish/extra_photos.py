"""Evotor's pictures after the first, as VK's extra photos (`photo_ids`, at most 4 besides
`main_photo_id`; docs/contracts/vk-market-api.md §3, §13): issue 14 part 2.

A new item's extra photos ride its main photo's upload and save in the main publishing
(sync/publish/item_photos.py, pipeline.py): nothing is left for this step after a first publish.
This step, after the main publishing (sync/publish/run.py), is for items already in VK: a
picture added, replaced, removed or moved in Evotor, the merchant's own photos reordered, a new
item whose extras could not ride (VK refused bulk uploads, an extra could not be read), links
made before extra photos existed. It reads Evotor's image list where nobody has since the
product last changed, compares the pictures Evotor has now with the ones last sent
(`ItemLink.extra_photos`: [hash, VK photo id] each) and, where they differ, uploads only the
new pictures: a bulk POST of up to `FILES_PER_UPLOAD` files, one `market.saveProductPhotoBulk`,
chained in the same `execute` to the `market.edit(photo_ids=…)` calls that use them (a photo
kept from before is named by its id again: VK lets a photo belong to its own item). Nothing
differs, nothing is sent: a re-sync with nothing changed costs no request here.

Its own requests, not the main run's: an item costs a `market.edit` here, and its new photos
one POST and a share of one save. A failure leaves the link as it was, so the
next run tries again; it never stops the run.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from connections.evotor_client import EvotorAuthError, EvotorError
from connections.vk_client import VkClient
from connections.vk_errors import VkApiError, VkUploadUrlRefused
from connections.vk_photos import InvalidImageError
from connections.vk_script import MAX_CALLS, VkCall, VkRef
from sync.models import ItemLink, LinkState
from sync.plan.photo_set import extras_to_send, merchant_extras, wanted_extras
from sync.plan.photos import EvotorImage, PhotoMark, encode_extra_images, read_photo_bytes
from sync.plan.rules import PhotoSource
from sync.publish.photo_prep import MemoryBudget, normalize_within

logger = logging.getLogger(__name__)

# Files per bulk POST and per save, as for the main photos (sync/publish/pipeline.py).
FILES_PER_UPLOAD = 5
# What getProductPhotoUploadServer(bulk=1) answers on a VK without bulk uploads (invalid
# parameter, unknown method), as the executor reads it.
BULK_REFUSED = (100, 3)
THREADS = 6
# Image lists read per run for links that never had theirs read: after an upgrade every
# published item is such a link, and its reads are spread over the next runs.
READS_PER_RUN = 1000


@dataclass
class ExtraWork:
    link: ItemLink
    sources: list[PhotoSource]
    pairs: list[tuple[str, int | None]]
    jpegs: list[bytes] = field(default_factory=list)

    @property
    def uploads(self) -> int:
        return sum(1 for _h, photo_id in self.pairs if photo_id is None)


@dataclass
class ExtraResult:
    items: int = 0  # items whose extra photos were sent
    photos: int = 0  # photos uploaded
    failed: int = 0


def candidates(user) -> list[ItemLink]:
    """Items in VK; an adopted item keeping the merchant's own VK photo keeps its extra photos
    too."""
    return list(
        ItemLink.objects.filter(
            user=user,
            vk_item_id__isnull=False,
            state__in=[LinkState.PUBLISHED, LinkState.HIDDEN],
        ).exclude(photo_hash=PhotoMark.KEEP_VK)
    )


def _read_unread(links: list[ItemLink], evotor) -> None:
    """Read Evotor's image list for links whose main picture is Evotor's and whose further
    pictures were never read (new items, links made before this step existed)."""
    unread = [
        link
        for link in links
        if link.evotor_extra_images is None
        and link.evotor_image not in (EvotorImage.NOT_LOOKED, EvotorImage.NONE)
    ][:READS_PER_RUN]
    if not unread or evotor is None:
        return

    def look(link):
        try:
            return link, evotor.list_product_images(link.store_id, link.product_id)
        except EvotorAuthError:
            raise
        except EvotorError:
            return link, None

    changed = []
    with ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="sync-extras") as pool:
        for link, images in pool.map(look, unread):
            if images is None:
                continue
            link.evotor_extra_images = encode_extra_images(images)
            changed.append(link)
    if changed:
        ItemLink.objects.bulk_update(changed, ["evotor_extra_images"], batch_size=500)


def _prepare(work: list[ExtraWork], evotor) -> list[ExtraWork]:
    """Download and normalize the photos to upload, within the photo memory budget
    (SYNC_PHOTO_MEMORY_MB, as the main photos); an item one of whose photos fails waits for the
    next run."""
    budget = MemoryBudget.from_settings()

    def prepare(job: ExtraWork):
        try:
            job.jpegs = [
                normalize_within(budget, read_photo_bytes(source, evotor))
                for source, (_h, photo_id) in zip(job.sources, job.pairs, strict=True)
                if photo_id is None
            ]
        except EvotorAuthError:
            raise
        except (EvotorError, InvalidImageError, OSError, MemoryError) as exc:
            logger.warning(
                "an extra photo could not be prepared",
                extra={"link_id": job.link.pk, "error": type(exc).__name__},
            )
            return None
        return job

    with ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="sync-extras") as pool:
        return [job for job in pool.map(prepare, work) if job is not None]


def _groups(work: list[ExtraWork]) -> list[list[ExtraWork]]:
    """Items whose new photos go up in one POST and one save (an item with none: alone)."""
    groups: list[list[ExtraWork]] = []
    current: list[ExtraWork] = []
    files = 0
    for job in work:
        if current and (files + job.uploads > FILES_PER_UPLOAD or len(current) >= FILES_PER_UPLOAD):
            groups.append(current)
            current, files = [], 0
        current.append(job)
        files += job.uploads
    if current:
        groups.append(current)
    return groups


class ExtraPhotos:
    """Sends the extra photos of the items that need them (see the module docstring)."""

    def __init__(self, *, client: VkClient, transport, owner_id: int, group_id: int, evotor):
        self.client = client
        self.transport = transport
        self.owner_id = owner_id
        self.group_id = group_id
        self.evotor = evotor
        self.url: str | None = None
        self.bulk = True  # until VK refuses a bulk upload URL
        self.result = ExtraResult()

    def publish(self, links: list[ItemLink], merchant: dict | None = None) -> ExtraResult:
        _read_unread(links, self.evotor)
        work = []
        for link in links:
            wanted = wanted_extras(link, merchant or {})
            if wanted is None:
                continue
            pairs = extras_to_send(wanted, link.extra_photos)
            if pairs is not None:
                work.append(ExtraWork(link=link, sources=wanted, pairs=pairs))
        if not work:
            return self.result
        work = _prepare(work, self.evotor)
        refused = self._send_groups(_groups(work))
        if refused:
            # A bulk save VK refused (a stale upload, or one bad photo): each of its items again
            # on its own, with a fresh URL, so a bad photo costs only its own item.
            self.url = None
            self._send_groups([[job] for job in refused], last=True)
        return self.result

    def _send_groups(self, groups: list[list[ExtraWork]], *, last: bool = False):
        """Send `groups`, 25 calls a request; returns the items of groups of several whose
        save VK refused (counted failed instead when `last`)."""
        refused: list[ExtraWork] = []
        request: list[VkCall] = []
        pending: list[tuple[list[ExtraWork], list[int]]] = []  # (group, indexes of its saves)
        for group in groups:
            saves = self._saves(group)
            if saves is None:
                continue
            if len(request) + len(saves) + len(group) > MAX_CALLS:
                refused += self._send(request, pending, last=last)
                request, pending = [], []
            saves_at = list(range(len(request), len(request) + len(saves)))
            request.extend([*saves, *self._edits(group, saves_at)])
            pending.append((group, saves_at))
        if request:
            refused += self._send(request, pending, last=last)
        return refused

    def _upload_url(self) -> str:
        if self.url is None:
            if self.bulk:
                try:
                    self.url = self.client.get_upload_urls(self.group_id, 1, bulk=True)[0]
                    return self.url
                except VkApiError as exc:
                    if exc.code not in BULK_REFUSED:
                        raise
                    # A VK without bulk uploads: one photo per upload and save from now on.
                    self.bulk = False
            self.url = self.client.get_upload_urls(self.group_id, 1, bulk=False)[0]
        return self.url

    def _upload(self, jpegs: list[bytes]) -> str:
        for _attempt in range(2):
            url = self._upload_url()
            try:
                return self.client.upload_photos(url, jpegs, bulk=self.bulk)
            except VkUploadUrlRefused:
                self.url = None
        raise VkUploadUrlRefused("upload")

    def _saves(self, group: list[ExtraWork]) -> list[VkCall] | None:
        """The saves of the group's new photos: one bulk save, or where VK has no bulk uploads
        one save per photo; None when they could not be uploaded."""
        jpegs = [jpeg for job in group for jpeg in job.jpegs]
        if not jpegs:
            return []
        try:
            self._upload_url()  # first: it tells whether VK takes bulk uploads
            first = self._upload(jpegs if self.bulk else jpegs[:1])
            if self.bulk:
                return [VkClient.save_product_photo_call(first, bulk=True)]
            rest = [self._upload([jpeg]) for jpeg in jpegs[1:]]
            return [VkClient.save_product_photo_call(r, bulk=False) for r in [first, *rest]]
        except VkApiError as exc:
            logger.warning("extra photos not uploaded", extra={"code": exc.code})
            self.result.failed += len(group)
            return None

    def _edits(self, group: list[ExtraWork], saves_at: list[int]) -> list[VkCall]:
        """One market.edit per item with its `photo_ids` in Evotor's order: a new photo by
        `VkRef` into its save (the n-th entry of a bulk save, or its own save)."""
        calls = []
        n = 0
        for job in group:
            photo_ids = []
            for _h, photo_id in job.pairs:
                if photo_id is None:
                    if len(saves_at) == 1 and self.bulk:
                        photo_ids.append(VkRef(saves_at[0], f"{n}.photo_id"))
                    else:
                        photo_ids.append(VkRef(saves_at[n], "photo_id"))
                    n += 1
                else:
                    photo_ids.append(photo_id)
            params = {
                "owner_id": self.owner_id,
                "item_id": job.link.vk_item_id,
                "photo_ids": photo_ids,
            }
            calls.append(VkCall("market.edit", params))
        return calls

    def _send(self, calls: list[VkCall], pending, *, last: bool = False) -> list[ExtraWork]:
        sent = self.transport.send(calls)
        results = sent.results
        saved = []
        refused: list[ExtraWork] = []
        position = 0
        for group, saves_at in pending:
            position += len(saves_at)
            photo_ids = _saved_ids([results[i] for i in saves_at])
            if photo_ids is None and sent.stop is None and not last and len(group) > 1:
                refused.extend(group)
                position += len(group)
                continue
            n = 0
            for job in group:
                result = results[position]
                position += 1
                if not result.ok or photo_ids is None:
                    self.result.failed += 1
                    continue
                pairs = []
                for photo_hash, photo_id in job.pairs:
                    if photo_id is None:
                        photo_id = photo_ids[n]
                        n += 1
                        self.result.photos += 1
                    pairs.append([photo_hash, int(photo_id)])
                job.link.extra_photos = pairs
                saved.append(job.link)
                self.result.items += 1
        if saved:
            ItemLink.objects.bulk_update(saved, ["extra_photos"], batch_size=500)
        if sent.stop is not None:
            raise sent.stop
        return refused


def _saved_ids(saves) -> list[int] | None:
    """The photo ids the saves gave, in upload order; None when one was refused."""
    ids = []
    for save in saves:
        if not save.ok:
            return None
        values = save.value if isinstance(save.value, list) else [save.value]
        ids.extend(int(value["photo_id"]) for value in values)
    return ids


def extra_photos_publish(
    *, user, client: VkClient, transport, owner_id: int, group_id: int, evotor
) -> ExtraResult:
    """Send the extra photos that changed for `user`'s items (see the module docstring).
    Errors of the whole request are logged and left for the next run."""
    step = ExtraPhotos(
        client=client, transport=transport, owner_id=owner_id, group_id=group_id, evotor=evotor
    )
    try:
        return step.publish(candidates(user), merchant_extras(user))
    except EvotorAuthError:
        logger.warning("extra photos: Evotor refused the token", extra={"user_id": user.pk})
    except VkApiError as exc:
        logger.warning("extra photos stopped", extra={"user_id": user.pk, "code": exc.code})
    return step.result
