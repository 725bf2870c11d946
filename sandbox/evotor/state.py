"""The emulator's state: stores, and per store its groups, products and images.

Rows sit in a stable order of positions. Positions below `count` may be generated on demand
(large benchmark catalogs); everything added or changed is stored. A cursor is a position, so
paging stays correct while rows change between two pages, as a real cursor would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.evotor.generated import GeneratedCatalog


class Table:
    """Rows (dicts with an `id` and an integer `updated_at` in ms) in a stable order."""

    def __init__(
        self,
        *,
        count: int = 0,
        generate: Callable[[int], dict] | None = None,
        generated_updated: Callable[[int], int] | None = None,
        generated_position: Callable[[str], int | None] | None = None,
    ):
        self._count = count
        self._generate = generate
        self._generated_updated = generated_updated
        self._generated_position = generated_position
        self._rows: dict[int, dict | None] = {}  # None marks a removed row
        self._positions: dict[str, int] = {}
        self._next = count

    def __len__(self) -> int:
        """How many rows exist now (removed ones excluded)."""
        removed = sum(1 for row in self._rows.values() if row is None)
        return self._next - removed

    def position(self, row_id: str) -> int | None:
        if row_id in self._positions:
            return self._positions[row_id]
        if self._generated_position is not None:
            return self._generated_position(row_id)
        return None

    def row_at(self, pos: int) -> dict | None:
        if pos in self._rows:
            return self._rows[pos]
        if pos < self._count and self._generate is not None:
            return self._generate(pos)
        return None

    def updated_at(self, pos: int) -> int | None:
        if pos in self._rows:
            row = self._rows[pos]
            return None if row is None else row["updated_at"]
        if pos < self._count and self._generated_updated is not None:
            return self._generated_updated(pos)
        return None

    def get(self, row_id: str) -> dict | None:
        pos = self.position(row_id)
        return None if pos is None else self.row_at(pos)

    def add(self, row: dict) -> None:
        if self.get(row["id"]) is not None:
            raise ValueError(f"row {row['id']} already exists")
        pos = self._positions.get(row["id"], self._next)
        if pos == self._next:
            self._next += 1
        self._rows[pos] = row
        self._positions[row["id"]] = pos

    def replace(self, row: dict) -> None:
        pos = self.position(row["id"])
        if pos is None:
            raise KeyError(row["id"])
        self._rows[pos] = row
        self._positions[row["id"]] = pos

    def remove(self, row_id: str) -> bool:
        pos = self.position(row_id)
        if pos is None or self.row_at(pos) is None:
            return False
        self._rows[pos] = None
        self._positions[row_id] = pos
        return True

    def _matches(self, pos: int, since: int | None) -> bool:
        updated = self.updated_at(pos)
        return updated is not None and (since is None or updated >= since)

    def page(self, start: int, *, since: int | None, limit: int) -> tuple[list[dict], int | None]:
        """Up to `limit` rows from `start`, and the position the next page starts at (or None).

        Looks one matching row ahead, so the last page is recognised as last and never followed
        by an empty one.
        """
        rows: list[dict] = []
        pos = start
        end = self._next
        while pos < end and len(rows) < limit:
            if self._matches(pos, since):
                rows.append(self.row_at(pos))
            pos += 1
        while pos < end and not self._matches(pos, since):
            pos += 1
        return rows, (pos if pos < end else None)


@dataclass
class StoreState:
    id: str
    name: str
    address: str
    user_id: str
    created_at: int
    updated_at: int
    status: int | None = None
    groups: Table = field(default_factory=Table)
    products: Table = field(default_factory=Table)
    # Explicit images by product id (None: removed); generated stores add theirs on the fly.
    images: dict[str, dict | None] = field(default_factory=dict)
    # Pictures after the first, in Evotor's order, by product id (explicit products).
    extra_images: dict[str, list[dict]] = field(default_factory=dict)
    generated: GeneratedCatalog | None = None

    def images_for(self, product_id: str) -> list[dict]:
        """Every picture of a product, the first (main) one first."""
        main = self.image_for(product_id)
        if main is None:
            return []
        if product_id in self.images or self.generated is None:
            return [main, *self.extra_images.get(product_id, [])]
        pos = self.generated.position(product_id)
        extras = [
            {**main, "id": self.generated.extra_image_id(pos, k)}
            for k in range(1, self.generated.extra_images(pos) + 1)
        ]
        return [main, *extras]

    def image_for(self, product_id: str) -> dict | None:
        if product_id in self.images:
            return self.images[product_id]
        row = self.products.get(product_id) if self.generated is not None else None
        if row is not None:
            pos = self.generated.position(product_id)
            if pos is not None and self.generated.has_image(pos):
                return {
                    "id": self.generated.image_id(pos),
                    "product_id": product_id,
                    "store_id": self.id,
                    "user_id": self.user_id,
                    "created_at": row["created_at"],
                    "updated_at": row["created_at"],
                }
        return None

    def as_row(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "address": self.address,
            "user_id": self.user_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }
