"""The frozen snapshots a plan is computed from: plain copies of links, albums and VK items.

The planner (sync/plan/planner.py) reads only these, never a model or the network, so every
planning rule is tested on plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sync.models import LinkState
from sync.plan.rules import price_text


@dataclass(frozen=True)
class LinkSnapshot:
    """A plain copy of an `ItemLink`."""

    id: int | None
    store_id: str
    product_id: str
    vk_item_id: int | None
    sku: str
    state: str
    adopted: bool = False
    album_ids: tuple[int, ...] = ()
    published_fields: dict = field(default_factory=dict)
    photo_hash: str = ""
    product_name: str = ""
    last_error: str = ""
    vk_edits: dict = field(default_factory=dict)  # fields seen edited in VK (sync/vk_edits.py)

    @property
    def key(self) -> tuple[str, str]:
        return (self.store_id, self.product_id)

    @property
    def hidden(self) -> bool:
        return bool(self.published_fields.get("hidden"))

    @property
    def on_vk(self) -> bool:
        """The item exists in VK (shown or hidden, not deleted)."""
        return self.vk_item_id is not None and self.state not in (
            LinkState.DELETED,
            LinkState.CREATING,
        )


@dataclass(frozen=True)
class AlbumSnapshot:
    """A VK album: one we made (`group_keys` set) or one the community has (for adoption)."""

    vk_album_id: int
    title: str
    group_keys: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class VkItemSnapshot:
    """A VK item as the VK catalog cache (or `market.get`) knows it."""

    vk_id: int
    title: str
    sku: str = ""
    description: str = ""
    price: Decimal | None = None
    old_price: Decimal | None = None
    category_id: int | None = None
    availability: int = 0
    album_ids: tuple[int, ...] = ()

    @property
    def hidden(self) -> bool:
        return self.availability != 0

    def as_fields(self) -> dict:
        """Its VK fields in the shape the rules produce (prices as roubles text)."""
        return {
            "name": self.title,
            "description": self.description,
            "price": price_text(self.price),
            "old_price": price_text(self.old_price) if self.old_price else None,
            "category_id": self.category_id,
            "sku": self.sku,
        }

    @classmethod
    def from_cached(cls, row) -> VkItemSnapshot:
        """From a `vk_catalog.models.VkCachedProduct`."""
        return cls(
            vk_id=row.vk_id,
            title=row.title,
            sku=row.sku or "",
            description=row.description or "",
            price=row.price,
            old_price=row.old_price,
            category_id=row.category_id,
            availability=row.availability,
            album_ids=tuple(int(a) for a in row.album_ids or ()),
        )

    @classmethod
    def from_vk(cls, item) -> VkItemSnapshot:
        """From a `connections.vk_client.VkItem`."""
        return cls(
            vk_id=item.id,
            title=item.title,
            sku=item.sku or "",
            description=item.description or "",
            price=item.price,
            old_price=item.old_price,
            category_id=item.category_id,
            availability=item.availability,
            album_ids=tuple(item.album_ids),
        )
