"""The units of work a publishing run moves around (sync/publisher.py)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from connections.vk_script import VkCall
from sync import rules
from sync.models import ItemLink
from sync.planner import PlanItem


class EvotorStopped(Exception):
    """Evotor refused the token while images were read: the run stops."""


@dataclass
class Job:
    """One plan item being applied."""

    item: PlanItem
    link: ItemLink
    attempts: int = 0
    # photo pipeline
    needs_photo: bool = False
    prep: Future | None = None
    jpeg: bytes | None = None
    photo_source: rules.PhotoSource | None = None
    evotor_image: str | None = None  # what Evotor's image list said, when read
    upload: Future | None = None
    upload_response: str | None = None
    finished: bool = False

    @property
    def action(self) -> str:
        return self.item.action


@dataclass
class Outcome:
    status: str  # ok | failed | skipped
    error: str = ""


@dataclass
class Batch:
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
