"""Holding a plan's items within a budget (issue 10 item 4: planning memory flat in the
catalog's size).

A run applies at most `SYNC_RUN_CHUNK_ITEMS` items per task (sync/publish/chunked.py): the
first ones in plan order (by action, then by name). A plan that computes every product (a first
publish, a settings change) therefore only needs to hold those; the others are counted, so the
run's `total` and its plan summary stay those of the whole plan. A bounded max-heap keeps the
first `limit` items to apply whatever order they are computed in, and ties keep the order
they came in, as the stable sort of a whole plan does.
"""

from __future__ import annotations

import heapq
from collections import Counter

from sync.plan.plan import ACTION_ORDER, PlanItem


def plan_order(item: PlanItem, seq: int) -> tuple:
    """Where an item stands in a plan (`Plan.items`), `seq` breaking ties by arrival."""
    return (ACTION_ORDER.index(item.action), item.product_name.casefold(), seq)


class _Held:
    """A heap entry ordered backwards, so the heap's top is the last item in plan order."""

    __slots__ = ("item", "order")

    def __init__(self, order: tuple, item: PlanItem):
        self.order = order
        self.item = item

    def __lt__(self, other: _Held) -> bool:
        return self.order > other.order


class ItemBudget:
    """The items of a plan being built: all of them (`limit` None), or the first `limit` items
    to apply plus the skipped ones (`keep_skipped`), counting what it lets go in `not_held`.

    `left_out`: products an earlier chunk of the run already recorded as failed or skipped;
    their items are dropped without being counted (`chunked.take_chunk` did the same)."""

    def __init__(
        self, limit: int | None = None, *, keep_skipped: bool = True, left_out=frozenset()
    ):
        self.limit = limit
        self.keep_skipped = keep_skipped
        self.left_out = left_out
        self.not_held: Counter = Counter()
        self._skipped: list[_Held] = []
        self._heap: list[_Held] = []
        self._seq = 0
        self._notes: list = []

    @property
    def bounded(self) -> bool:
        return self.limit is not None

    def add(self, item: PlanItem) -> None:
        if item.key in self.left_out:
            return
        self._seq += 1
        if item.skipped:
            if self.keep_skipped:
                self._skipped.append(_Held(plan_order(item, self._seq), item))
            else:
                self.not_held["skipped"] += 1
            return
        entry = _Held(plan_order(item, self._seq), item)
        if self.limit is None or len(self._heap) < self.limit:
            heapq.heappush(self._heap, entry)
            return
        if entry.order > self._heap[0].order:
            self._count(item)  # after every held item: not this chunk's
            return
        self._count(heapq.heapreplace(self._heap, entry).item)

    def _count(self, item: PlanItem) -> None:
        self.not_held[item.action] += 1
        if item.photo_unchecked:
            self.not_held["photo_unchecked"] += 1
        if item.overwrites:
            self.not_held["vk_edits_overwritten"] += 1

    def keep_note(self, note) -> None:
        """An item whose VK-owned fields stay as VK has them (sync.plan.ownership.KeptFields):
        a run only counts them."""
        if self.bounded:
            self.not_held["kept_in_vk"] += 1
        else:
            self._notes.append(note)

    def kept_notes(self) -> list:
        return sorted(self._notes, key=lambda note: note.product_name.casefold())

    def items(self) -> list[PlanItem]:
        """The held items in plan order."""
        ordered = sorted(self._heap + self._skipped, key=lambda entry: entry.order)
        return [entry.item for entry in ordered]
