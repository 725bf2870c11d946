"""The plan: what publishing will do to VK, computed from plain data (no VK call, no write).

`build_plan` compares the VK item each selected product should be (sync.rules) with the links
of what was published before, and says per product: create / update (only the fields that
changed) / hide / restore / delete / adopt / nothing, plus the albums to create or rename and
the album memberships to change. Products VK would refuse are flagged with the reasons and
skipped. The removal guard is decided here too.

`plan_for_user` (sync/inputs.py gathers the data) is what the preview page and the publisher use.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sync.adoption import VkItemSnapshot, match_adoptions
from sync.rules import (
    CONTENT_FIELDS,
    FLAG_NO_CATEGORY,
    FLAG_NO_PHOTO,
    DesiredItem,
    PhotoSource,
    RuleSettings,
    fields_hash,
)

# Plan actions (RunAction values, plus "nothing" for items that stay as they are).
CREATE = "create"
UPDATE = "update"
HIDE = "hide"
RESTORE = "restore"
DELETE = "delete"
ADOPT = "adopt"
NOTHING = "nothing"

# Why an item is being hidden or deleted.
REASON_OUT_OF_STOCK = "out_of_stock"
REASON_REMOVED = "removed_at_till"
REASON_FILTERED = "filtered_out"

ACTION_ORDER = (CREATE, ADOPT, UPDATE, RESTORE, HIDE, DELETE)


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

    @property
    def key(self) -> tuple[str, str]:
        return (self.store_id, self.product_id)

    @property
    def hidden(self) -> bool:
        return bool(self.published_fields.get("hidden"))

    @property
    def on_vk(self) -> bool:
        """The item exists in VK (shown or hidden, not deleted)."""
        return self.vk_item_id is not None and self.state not in ("deleted", "creating")


@dataclass(frozen=True)
class AlbumSnapshot:
    """A VK album: one we made (`group_keys` set) or one the community has (for adoption)."""

    vk_album_id: int
    title: str
    group_keys: tuple[tuple[str, str], ...] = ()


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

    action: str
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
            self.action == CREATE
            and not self.skipped
            and self.desired is not None
            and self.desired.photo_unknown
            and self.photo is None
        )

    @property
    def needs_vk(self) -> bool:
        """Whether applying it takes a VK call (an adoption without changes does not)."""
        if self.skipped:
            return False
        return bool(
            self.action in (CREATE, DELETE)
            or self.send_fields
            or self.photo
            or self.set_hidden is not None
            or self.restore_deleted
            or self.album_add
            or self.album_remove
        )


@dataclass
class Plan:
    """Everything a run would do, with counts for the preview page."""

    items: list[PlanItem] = field(default_factory=list)
    albums_to_create: list[AlbumPlan] = field(default_factory=list)
    album_renames: list[AlbumRename] = field(default_factory=list)
    # Links with nothing in VK and no product any more: dropped quietly.
    links_to_drop: list[int] = field(default_factory=list)
    published: int = 0  # items visible in VK before the run
    removals: int = 0  # hides + deletes
    guard_percent: int = 20
    guard_held: bool = False
    unchanged: int = 0
    # The VK catalog cache was used to look for items to adopt.
    adoption_checked: bool = False

    @property
    def counts(self) -> dict[str, int]:
        counter = Counter(item.action for item in self.items if not item.skipped)
        counts = {action: counter.get(action, 0) for action in ACTION_ORDER}
        counts["skipped"] = sum(1 for item in self.items if item.skipped)
        counts["unchanged"] = self.unchanged
        counts["albums_to_create"] = sum(
            1 for a in self.albums_to_create if not a.adopt_vk_album_id
        )
        counts["albums_to_rename"] = len(self.album_renames)
        counts["photo_unchecked"] = len(self.photo_unchecked)
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
        return [item for item in self.items if item.action == ADOPT]

    @property
    def to_apply(self) -> list[PlanItem]:
        return [item for item in self.items if not item.skipped]

    @property
    def total(self) -> int:
        """How many items a run will apply (the live progress's `total`)."""
        return len(self.to_apply)

    @property
    def is_empty(self) -> bool:
        return not (
            self.to_apply
            or [a for a in self.albums_to_create if not a.adopt_vk_album_id]
            or self.album_renames
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


# --- building -------------------------------------------------------------------------------------
def _published_view(fields: dict) -> dict:
    return {key: fields.get(key) for key in CONTENT_FIELDS}


def _norm(value):
    """Compare prices as numbers ("100" == "100.00"), everything else as is."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value))
    try:
        return Decimal(str(value)) if str(value).replace(".", "", 1).isdigit() else value
    except ArithmeticError:
        return value


def diff_fields(old: dict, new: dict, *, skip: set[str] = frozenset()) -> dict:
    """field → [old, new] for the VK fields that differ."""
    changes = {}
    for key in CONTENT_FIELDS:
        if key in skip:
            continue
        before, after = old.get(key), new.get(key)
        if key in ("price", "old_price"):
            if _norm(before) == _norm(after):
                continue
        elif (before or None) == (after or None):
            continue
        changes[key] = [before, after]
    return changes


def guard_holds(*, removals: int, published: int, percent: int) -> bool:
    """Whether a run removing `removals` of `published` visible items must wait for the
    merchant: more than `percent` % of them, and more than one item."""
    if removals <= 1 or published <= 0:
        return False
    return removals * 100 > percent * published


def build_plan(
    *,
    desired: list[DesiredItem],
    links: list[LinkSnapshot],
    settings: RuleSettings,
    albums: list[AlbumSnapshot] = (),
    vk_items: list[VkItemSnapshot] | None = None,
    vk_albums: list[AlbumSnapshot] = (),
    removed_keys: set[tuple[str, str]] = frozenset(),
    confirmed_removals: int | None = None,
) -> Plan:
    """The plan for one merchant.

    desired: the VK items the selected products should be (flags already set by the rules);
    links: every link of the merchant; albums: the albums we made (with their group keys);
    vk_items: the merchant's VK items from the VK catalog cache, to adopt (None: don't adopt);
    vk_albums: the community's albums, to adopt one whose title matches instead of making it;
    removed_keys: products removed at the till (for the reason shown; others are filtered out);
    confirmed_removals: the merchant confirmed a held run with that many removals.
    """
    plan = Plan(guard_percent=settings.removal_guard_percent)
    links_by_key = {link.key: link for link in links}
    wanted_keys = {item.key for item in desired}

    # Albums: by title. A title we already have an album for reuses it.
    album_by_title: dict[str, int] = {}
    album_title_of: dict[int, str] = {}
    album_groups: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for album in albums:
        album_by_title.setdefault(album.title.casefold(), album.vk_album_id)
        album_title_of[album.vk_album_id] = album.title
        album_groups[album.vk_album_id].extend(album.group_keys)
    managed_album_ids = set(album_title_of)
    group_album: dict[tuple[str, str], int] = {}
    for album in albums:
        for key in album.group_keys:
            group_album[key] = album.vk_album_id

    # Album renames: every group of an album now carries one new title.
    titles_now: dict[int, set[str]] = defaultdict(set)
    for item in desired:
        if item.album_title:
            album_id = group_album.get((item.store_id, item.album_group_id))
            if album_id is not None:
                titles_now[album_id].add(item.album_title)
    for album_id, titles in titles_now.items():
        if len(titles) == 1:
            (title,) = titles
            old = album_title_of[album_id]
            if title != old and title.casefold() not in album_by_title:
                plan.album_renames.append(
                    AlbumRename(album_id, old, title, sorted(album_groups[album_id]))
                )
    renamed = {r.vk_album_id: r.new_title for r in plan.album_renames}

    def album_title_for(item: DesiredItem) -> str:
        """The album this item belongs in (by title), creating the album plan if needed."""
        if not item.album_title:
            return ""
        key = (item.store_id, item.album_group_id)
        if key in group_album:
            album_id = group_album[key]
            return renamed.get(album_id, album_title_of[album_id])
        return item.album_title

    new_albums: dict[str, AlbumPlan] = {}
    vk_album_by_title = {}
    for album in vk_albums:
        if album.vk_album_id not in managed_album_ids:
            vk_album_by_title.setdefault(album.title.casefold(), album.vk_album_id)
    for item in desired:
        if not item.album_title:
            continue
        key = (item.store_id, item.album_group_id)
        if key in group_album:
            continue
        folded = item.album_title.casefold()
        if folded in album_by_title:
            continue  # an album we made for another group of that title: linked at publish
        plan_album = new_albums.get(folded)
        if plan_album is None:
            plan_album = AlbumPlan(
                title=item.album_title,
                group_keys=[],
                adopt_vk_album_id=vk_album_by_title.get(folded),
            )
            new_albums[folded] = plan_album
        if key not in plan_album.group_keys:
            plan_album.group_keys.append(key)

    # Adoption: products without an item in VK, against VK items nobody links to.
    adoptions: dict[tuple[str, str], VkItemSnapshot] = {}
    if vk_items is not None:
        plan.adoption_checked = True
        linked_ids = {link.vk_item_id for link in links if link.vk_item_id is not None}
        candidates = [
            item
            for item in desired
            if (link := links_by_key.get(item.key)) is None
            or (link.vk_item_id is None and link.state != "creating")
        ]
        free_items = [vk for vk in vk_items if vk.vk_id not in linked_ids]
        adoptions = match_adoptions(candidates, free_items)

    plan.published = sum(1 for link in links if link.on_vk and not link.hidden)
    for item in desired:
        link = links_by_key.get(item.key)
        album_title = album_title_for(item)
        target_album = None
        if album_title:
            folded = album_title.casefold()
            target_album = album_by_title.get(folded)
            if target_album is None and folded in new_albums:
                target_album = new_albums[folded].adopt_vk_album_id
        target_album = group_album.get((item.store_id, item.album_group_id), target_album)
        current_albums = set(link.album_ids) & managed_album_ids if link else set()
        adopt = adoptions.get(item.key)

        if adopt is not None:
            plan.items.append(_adopt_item(item, link, adopt, album_title, target_album))
            continue
        if link is None or link.vk_item_id is None:
            plan.items.append(
                PlanItem(
                    action=CREATE,
                    store_id=item.store_id,
                    product_id=item.product_id,
                    product_name=item.product_name,
                    link_id=link.id if link else None,
                    desired=item,
                    changes={key: [None, value] for key, value in item.fields.items() if value},
                    send_fields=dict(item.fields),
                    photo=item.photo,
                    set_hidden=not item.visible,
                    album_add=album_title,
                    flags=list(item.flags),
                    sku=item.fields["sku"],
                )
            )
            continue

        # The item exists in VK (or did, and was deleted by us).
        creation_only = {f for f in item.flags if f == FLAG_NO_PHOTO}
        flags = [f for f in item.flags if f not in creation_only]
        skip = {"description"} if link.adopted and item.description_generated else set()
        if "category_id" in link.published_fields and item.fields.get("category_id") is None:
            skip.add("category_id")
            flags = [f for f in flags if f != FLAG_NO_CATEGORY]
        changes = diff_fields(_published_view(link.published_fields), item.fields, skip=skip)
        send = {key: item.fields[key] for key in changes}
        photo = None
        if item.photo is not None and item.photo.photo_hash != link.photo_hash:
            photo = item.photo
            changes["photo"] = [link.photo_hash or None, item.photo.kind]
        album_add = ""
        album_remove = sorted(a for a in current_albums if a != target_album)
        if album_title and (target_album is None or target_album not in current_albums):
            album_add = album_title
        if album_add or album_remove:
            changes["albums"] = [
                sorted(album_title_of.get(a, str(a)) for a in current_albums),
                [album_title] if album_title else [],
            ]

        restore_deleted = link.state == "deleted"
        if restore_deleted:
            if not item.visible:
                plan.unchanged += 1
                continue
            action, set_hidden = RESTORE, False
            changes["visible"] = [False, True]
        elif item.visible and link.hidden:
            action, set_hidden = RESTORE, False
            changes["visible"] = [False, True]
        elif not item.visible and not link.hidden:
            action, set_hidden = HIDE, True
            changes["visible"] = [True, False]
        elif changes:
            action, set_hidden = UPDATE, None
        else:
            plan.unchanged += 1
            continue
        plan.items.append(
            PlanItem(
                action=action,
                store_id=item.store_id,
                product_id=item.product_id,
                product_name=item.product_name,
                link_id=link.id,
                vk_item_id=link.vk_item_id,
                desired=item,
                changes=changes,
                send_fields=send,
                photo=photo,
                set_hidden=set_hidden,
                restore_deleted=restore_deleted,
                album_add=album_add,
                album_remove=album_remove,
                flags=flags,
                reason=REASON_OUT_OF_STOCK if action == HIDE else "",
                sku=link.sku,
            )
        )

    # Links whose product is no longer selected, or was removed at the till.
    for link in links:
        if link.key in wanted_keys:
            continue
        if link.vk_item_id is None:
            if link.state != "creating" and link.id is not None:
                plan.links_to_drop.append(link.id)
            continue
        if link.state == "deleted":
            continue
        reason = REASON_REMOVED if link.key in removed_keys else REASON_FILTERED
        common = dict(
            store_id=link.store_id,
            product_id=link.product_id,
            product_name=link.product_name or link.product_id,
            link_id=link.id,
            vk_item_id=link.vk_item_id,
            reason=reason,
            sku=link.sku,
        )
        if settings.removal_policy == "delete":
            plan.items.append(PlanItem(action=DELETE, changes={"deleted": [False, True]}, **common))
        elif not link.hidden:
            plan.items.append(
                PlanItem(action=HIDE, set_hidden=True, changes={"visible": [True, False]}, **common)
            )

    plan.albums_to_create = list(new_albums.values())
    plan.removals = sum(1 for item in plan.items if item.action in (HIDE, DELETE))
    held = guard_holds(
        removals=plan.removals, published=plan.published, percent=settings.removal_guard_percent
    )
    if held and confirmed_removals is not None and plan.removals <= confirmed_removals:
        held = False
    plan.guard_held = held
    plan.items.sort(key=lambda i: (ACTION_ORDER.index(i.action), i.product_name.casefold()))
    return plan


def _adopt_item(
    item: DesiredItem,
    link: LinkSnapshot | None,
    vk: VkItemSnapshot,
    album_title: str,
    target_album: int | None,
) -> PlanItem:
    """Adopt an existing VK item: link it, then change only what Evotor says differently.

    A description we would only have generated never replaces the merchant's own, and the
    item keeps its photo until the photo changes in Evotor or in the merchant's uploads. The
    item stays in the merchant's own albums.
    """
    skip = {"description"} if item.description_generated else set()
    if item.fields.get("category_id") is None:
        skip.add("category_id")
    changes = diff_fields(vk.as_fields(), item.fields, skip=skip)
    send = {key: item.fields[key] for key in changes}
    set_hidden = None
    if item.visible and vk.hidden:
        set_hidden = False
        changes["visible"] = [False, True]
    elif not item.visible and not vk.hidden:
        set_hidden = True
        changes["visible"] = [True, False]
    album_add = ""
    if album_title and (target_album is None or target_album not in vk.album_ids):
        album_add = album_title
        changes["albums"] = [[], [album_title]]
    return PlanItem(
        action=ADOPT,
        store_id=item.store_id,
        product_id=item.product_id,
        product_name=item.product_name,
        link_id=link.id if link else None,
        vk_item_id=vk.vk_id,
        desired=item,
        changes=changes,
        send_fields=send,
        set_hidden=set_hidden,
        album_add=album_add,
        flags=[f for f in item.flags if f not in (FLAG_NO_PHOTO, FLAG_NO_CATEGORY)],
        adopt_from=vk,
        sku=item.fields["sku"],
    )


def adopted_fields(vk: VkItemSnapshot) -> dict:
    """What an adopted item's link records as published: VK's own values."""
    return {**vk.as_fields(), "hidden": vk.hidden}


def published_hash(fields: dict) -> str:
    return fields_hash(_published_view(fields))
