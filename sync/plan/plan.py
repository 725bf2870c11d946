"""A plan: what publishing will do to VK, as plain data (built by sync/plan/planner.py).

The preview page shows it, `sync_to_vk --dry-run` prints it, the executor
(sync/publish/executor.py) applies it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sync.models import RunAction
from sync.plan.rules import DesiredItem, PhotoSource
from sync.plan.snapshots import VkItemSnapshot
from sync.plan.variants import VariantPlan

# Why an item is being hidden or deleted.
REASON_OUT_OF_STOCK = "out_of_stock"
REASON_REMOVED = "removed_at_till"
REASON_FILTERED = "filtered_out"

ACTION_ORDER = (
    RunAction.CREATE,
    RunAction.ADOPT,
    RunAction.UPDATE,
    RunAction.RESTORE,
    RunAction.HIDE,
    RunAction.DELETE,
)


@dataclass
class AlbumPlan:
    """An album to create (or to adopt: a VK album with that title already exists)."""

    title: str
    group_keys: list[tuple[str, str]]
    adopt_vk_album_id: int | None = None


@dataclass
class AlbumRename:
    vk_album_id: int
    old_title: str
    new_title: str
    group_keys: list[tuple[str, str]]


@dataclass
class PlanItem:
    """What happens to one product's VK item."""

    action: RunAction
    store_id: str
    product_id: str
    product_name: str
    link_id: int | None = None
    vk_item_id: int | None = None
    desired: DesiredItem | None = None
    # field → [old, new] for the page; "photo", "visible" and "albums" appear here too.
    changes: dict = field(default_factory=dict)
    # The VK fields to send (market.add: all; market.edit: the changed ones).
    send_fields: dict = field(default_factory=dict)
    photo: PhotoSource | None = None  # a photo to upload (new item, or the photo changed)
    set_hidden: bool | None = None  # True: hide; False: show; None: leave as it is
    restore_deleted: bool = False  # market.restore first (the item was deleted)
    album_add: str = ""  # the album title (by title: it may not exist yet)
    album_remove: list[int] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    reason: str = ""
    adopt_from: VkItemSnapshot | None = None
    sku: str = ""
    # Fields edited in VK that this item puts back to Evotor's value (sync/plan/ownership.py).
    overwrites: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        return (self.store_id, self.product_id)

    @property
    def skipped(self) -> bool:
        return bool(self.flags)

    @property
    def photo_unchecked(self) -> bool:
        """A new item planned for creation whose only possible photo is Evotor's, unread yet:
        published if Evotor has one, skipped ("no photo") if not."""
        return bool(
            self.action == RunAction.CREATE
            and not self.skipped
            and self.desired is not None
            and self.desired.photo_unknown
            and self.photo is None
        )


@dataclass
class AdoptionReview:
    """A VK item that may be this product, waiting for the merchant's answer: the product is
    neither adopted nor created until then (sync.plan.adoption)."""

    desired: DesiredItem
    vk: VkItemSnapshot
    evidence: str  # barcode | sku | name

    @property
    def key(self) -> tuple[str, str]:
        return self.desired.key


@dataclass
class Plan:
    """Everything a run would do, with counts for the preview page."""

    items: list[PlanItem] = field(default_factory=list)
    albums_to_create: list[AlbumPlan] = field(default_factory=list)
    album_renames: list[AlbumRename] = field(default_factory=list)
    # Links with nothing in VK and no product any more: deleted by the run (sync.publish.run).
    links_to_drop: list[int] = field(default_factory=list)
    published: int = 0  # items visible in VK before the run
    removals: int = 0  # hides + deletes
    guard_percent: int = 20
    guard_held: bool = False
    unchanged: int = 0
    # The VK catalog cache was used to look for items to adopt.
    adoption_checked: bool = False
    # Weak matches the merchant has to confirm or reject (left out of the run until then).
    adoption_reviews: list[AdoptionReview] = field(default_factory=list)
    # The groups whose album is not made: none of their items can be published (titles).
    albums_not_created: list[str] = field(default_factory=list)
    # Items whose VK-owned fields are left as VK has them (sync.plan.ownership.KeptFields).
    kept_in_vk: list = field(default_factory=list)
    # What a plan built with a budget counted without holding (sync/plan/item_budget.py): by
    # action, and "skipped", "photo_unchecked", "vk_edits_overwritten", "kept_in_vk".
    not_held: Counter = field(default_factory=Counter)

    @property
    def vk_edits_overwritten(self) -> list[PlanItem]:
        """Items whose edits made in VK this run overwrites (their fields are Evotor's)."""
        return [item for item in self.items if item.overwrites and not item.skipped]

    # Products sold in variants (sync/plan/variants.py).
    variants: VariantPlan = field(default_factory=VariantPlan)
    # How many pictures Evotor has for new items, where the preview read their image list
    # (sync.plan.preview): their photo count (sync.plan.photo_set.photo_counts).
    evotor_pictures: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        counter = Counter(item.action for item in self.items if not item.skipped)
        more = self.not_held
        counts = {action: counter.get(action, 0) + more[action] for action in ACTION_ORDER}
        counts["skipped"] = sum(1 for item in self.items if item.skipped) + more["skipped"]
        counts["unchanged"] = self.unchanged
        counts["albums_to_create"] = sum(
            1 for a in self.albums_to_create if not a.adopt_vk_album_id
        )
        counts["albums_to_rename"] = len(self.album_renames)
        counts["photo_unchecked"] = len(self.photo_unchecked) + more["photo_unchecked"]
        counts["adoption_reviews"] = len(self.adoption_reviews)
        counts["kept_in_vk"] = len(self.kept_in_vk) + more["kept_in_vk"]
        counts["vk_edits_overwritten"] = (
            len(self.vk_edits_overwritten) + more["vk_edits_overwritten"]
        )
        return counts

    @property
    def photo_unchecked(self) -> list[PlanItem]:
        """New items with no photo of their own but Evotor's, which nobody has read yet: the
        run reads it, and skips the item if Evotor has none (see `PlanItem.photo_unchecked`)."""
        return [item for item in self.items if item.photo_unchecked]

    @property
    def flagged(self) -> list[PlanItem]:
        return [item for item in self.items if item.skipped]

    @property
    def adoptions(self) -> list[PlanItem]:
        return [item for item in self.items if item.action == RunAction.ADOPT]

    @property
    def to_apply(self) -> list[PlanItem]:
        return [item for item in self.items if not item.skipped]

    @property
    def not_held_to_apply(self) -> int:
        """Items to apply the plan counted but does not hold (built with a budget)."""
        return sum(self.not_held[action] for action in ACTION_ORDER)

    @property
    def total(self) -> int:
        """How many items a run will apply (the live progress's `total`)."""
        return len(self.to_apply) + self.not_held_to_apply

    @property
    def is_empty(self) -> bool:
        return not (
            self.to_apply
            or self.not_held_to_apply
            or [a for a in self.albums_to_create if not a.adopt_vk_album_id]
            or self.album_renames
            or self.variants.has_work
        )

    def summary(self) -> dict:
        """The plan's counts as stored on the run (`SyncRun.plan_summary`)."""
        return {
            **self.counts,
            "published": self.published,
            "removals": self.removals,
            "guard_percent": self.guard_percent,
            "guard_held": self.guard_held,
        }
