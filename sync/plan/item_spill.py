"""A plan's items spilled to a temporary file in sorted runs and read back merged, in plan
order (issue 10 item 4: the preview of a large catalog without holding its plan).

The preview keeps every item of the plan (sync/preview_store.py writes them as rows the pages
read), in plan order: by section, then by action and name. A plan built in chunks
(sync/plan/chunk_plan.py) computes them in catalog order, so this holder sorts each
`RUN_ITEMS` items it is given, writes them to a temporary file in pages of `PAGE_ITEMS`, and
`sections` merges the runs, reading one page of each at a time. What it holds at any moment is
one run, or one page per run while merging: at 100k products, 25 runs of 4,000.

It has the interface of `ItemBudget` (the builder's holder), holds no item itself
(`items` is empty: every item is counted in `not_held`), and notes on the way what the
preview's summary asks of every item (`photos_missing`, `category_changes`), the first
kept-in-VK notes, and the section of each `watch`ed item (the variant members, whose rows are
folded into one per product: sync/preview_variants.py).
"""

from __future__ import annotations

import heapq
import pickle
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterator

from sync.plan.item_budget import plan_order
from sync.plan.plan import ACTION_ORDER, PlanItem

RUN_ITEMS = 4000
PAGE_ITEMS = 50
FLAGGED = "flagged"
SECTIONS = (*[str(action) for action in ACTION_ORDER], FLAGGED)
NOTES_KEPT = 10  # the preview shows the first few kept-in-VK notes (the count is in `counts`)


def section_of(item: PlanItem) -> str:
    """The preview's section of an item: its action's, or the flagged items' (not sent)."""
    return FLAGGED if item.skipped else str(item.action)


def _order(item: PlanItem, seq: int) -> tuple:
    return (SECTIONS.index(section_of(item)), *plan_order(item, seq))


class SpilledItems:
    """Every item of a plan, in a temporary file (see the module docstring)."""

    bounded = True  # for the builder: the items are not held

    def __init__(self, *, watch=frozenset()):
        self.not_held: Counter = Counter()
        self.photos_missing = False
        self.category_changes = False
        self.watch = watch
        self.watched_sections: dict[tuple[str, str], str] = {}
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by `close`
        self._runs: list[list[tuple[int, int]]] = []  # per run, its pages' (offset, length)
        self._buffer: list[tuple[tuple, PlanItem]] = []
        self._seq = 0
        self._notes: list = []
        self._notes_seen = 0

    def add(self, item: PlanItem) -> None:
        self._seq += 1
        if item.skipped:
            self.not_held["skipped"] += 1
            self.photos_missing = self.photos_missing or "no_photo" in item.flags
        else:
            self.not_held[item.action] += 1
            self.not_held["photo_unchecked"] += item.photo_unchecked
            self.not_held["vk_edits_overwritten"] += bool(item.overwrites)
        self.category_changes = self.category_changes or "category_id" in (item.changes or {})
        if item.key in self.watch:
            self.watched_sections[item.key] = section_of(item)
        self._buffer.append((_order(item, self._seq), item))
        if len(self._buffer) >= RUN_ITEMS:
            self._spill()

    def keep_note(self, note) -> None:
        """The first `NOTES_KEPT` notes by name are kept; the others are counted."""
        self._notes_seen += 1
        entry = (note.product_name.casefold(), self._notes_seen, note)
        if len(self._notes) < NOTES_KEPT:
            heapq.heappush(self._notes, _Last(entry))
        elif entry[:2] < self._notes[0].entry[:2]:
            heapq.heapreplace(self._notes, _Last(entry))

    def kept_notes(self) -> list:
        self.not_held["kept_in_vk"] = self._notes_seen - len(self._notes)
        return [held.entry[2] for held in sorted(self._notes, key=lambda h: h.entry[:2])]

    def items(self) -> list[PlanItem]:
        return []

    def _spill(self) -> None:
        self._buffer.sort(key=lambda pair: pair[0])
        pages = []
        for start in range(0, len(self._buffer), PAGE_ITEMS):
            page = self._buffer[start : start + PAGE_ITEMS]
            data = zlib.compress(pickle.dumps(page, protocol=pickle.HIGHEST_PROTOCOL), 1)
            self._file.seek(0, 2)
            pages.append((self._file.tell(), len(data)))
            self._file.write(data)
        self._runs.append(pages)
        self._buffer = []

    def _read(self, pages) -> Iterator[tuple[tuple, PlanItem]]:
        for offset, length in pages:
            self._file.seek(offset)
            data = self._file.read(length)
            # Our own pickles, written by `_spill` to a file only this process has open.
            yield from pickle.loads(zlib.decompress(data))  # noqa: S301

    def sections(self) -> Iterator[tuple[str, Iterator[PlanItem]]]:
        """(section, its items in plan order) for every section, in order; each section's
        items must be read before the next section is asked for."""
        if self._buffer:
            self._spill()
        merged = heapq.merge(*(self._read(pages) for pages in self._runs), key=lambda p: p[0])
        pending = next(merged, None)
        for number, section in enumerate(SECTIONS):

            def section_items(number=number):
                nonlocal pending
                while pending is not None and pending[0][0] == number:
                    yield pending[1]
                    pending = next(merged, None)

            yield section, section_items()

    def close(self) -> None:
        self._file.close()


class _Last:
    """A heap entry ordered backwards: the heap's top is the last note by name."""

    __slots__ = ("entry",)

    def __init__(self, entry: tuple):
        self.entry = entry

    def __lt__(self, other: _Last) -> bool:
        return self.entry[:2] > other.entry[:2]
