"""The units of work a publishing run moves around (sync/publish/executor.py)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from connections.vk_script import VkCall
from sync.models import ItemLink, RunAction, RunItemStatus
from sync.plan.plan import PlanItem
from sync.plan.rules import PhotoSource

MAX_ATTEMPTS = 3  # tries of one item within a run (requests refused as a whole, uploads)


class EvotorStopped(Exception):
    """Evotor refused the token while images were read: the run stops."""


@dataclass
class Job:
    """One plan item being applied."""

    item: PlanItem
    link: ItemLink
    attempts: int = 0
    # photo pipeline (sync/publish/pipeline.py)
    needs_photo: bool = False
    prep: Future | None = None
    jpeg: bytes | None = None
    photo_source: PhotoSource | None = None
    evotor_image: str | None = None  # what Evotor's image list said, when read
    upload_response: str | None = None
    bulk_refusals: int = 0  # bulk saves of this photo VK refused (then it goes alone)
    finished: bool = False
    # A new item's extra photos (`photo_ids`), uploaded and saved with its main photo
    # (sync/publish/item_photos.py). `extras`: known before preparing (None: Evotor's image
    # list, read once while preparing, decides).
    with_extras: bool = False
    extras: list[PhotoSource] | None = None
    extra_sources: list[PhotoSource] = field(default_factory=list)
    extra_jpegs: list[bytes] = field(default_factory=list)
    evotor_extras: list[str] | None = None  # Evotor's pictures after the first, when read
    extra_photo_ids: list[int] = field(default_factory=list)  # what the save gave them

    @property
    def jpegs(self) -> list[bytes]:
        """The files this item puts in its group's upload: the main photo, then the extras."""
        return [self.jpeg, *self.extra_jpegs]

    def release_files(self) -> None:
        self.jpeg = None
        self.extra_jpegs = []

    def drop_extras(self) -> None:
        """Send the main photo alone: the extras are left to the extra-photo step after the
        main publishing (sync/publish/extra_photos.py), so they never cost the item itself."""
        self.extra_sources = []
        self.extra_jpegs = []

    @property
    def action(self) -> RunAction:
        return self.item.action


@dataclass(frozen=True)
class Outcome:
    """How one item ended: a run item's status and, when not ok, the reason (a sync.reasons
    code or VK's message)."""

    status: RunItemStatus
    error: str = ""

    @classmethod
    def ok(cls) -> Outcome:
        return cls(RunItemStatus.OK)

    @classmethod
    def failed(cls, error: str) -> Outcome:
        return cls(RunItemStatus.FAILED, error)

    @classmethod
    def skipped(cls, error: str) -> Outcome:
        return cls(RunItemStatus.SKIPPED, error)


@dataclass
class Batch:
    """The calls of one request, and who handles which of their results."""

    calls: list[VkCall] = field(default_factory=list)
    handlers: list[tuple[Callable, list[int]]] = field(default_factory=list)

    def add(self, calls: list[VkCall], handler: Callable) -> None:
        start = len(self.calls)
        self.calls.extend(calls)
        self.handlers.append((handler, list(range(start, start + len(calls)))))


class Stop(Exception):
    """Ends the publishing loop; `error` is what VK (or Evotor) said."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error
