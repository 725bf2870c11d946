"""The planner: what publishing will do to VK, computed from plain data (no VK call, no write).

`build_plan` compares the VK item each selected product should be (sync.plan.rules) with the
links of what was published before, and says per product: create / update (only the fields
that changed) / hide / restore / delete / adopt / nothing, plus the albums to create or rename
and the album memberships to change. Products VK would refuse are flagged with the reasons and
skipped. The removal guard is decided here too.

`sync.plan.inputs.plan_from_inputs` feeds it from the database, for the preview
(sync/plan/preview.py) and the run (sync/publish/run.py).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sync.models import AdoptionVerdict, LinkState, RemovalPolicy, RunAction
from sync.plan.adoption import STRONG, match_adoptions
from sync.plan.plan import (
    ACTION_ORDER,
    REASON_FILTERED,
    REASON_OUT_OF_STOCK,
    REASON_REMOVED,
    AdoptionReview,
    AlbumPlan,
    AlbumRename,
    Plan,
    PlanItem,
)
from sync.plan.rules import (
    CONTENT_FIELDS,
    FLAG_NO_CATEGORY,
    FLAG_NO_PHOTO,
    DesiredItem,
    RuleSettings,
)
from sync.plan.snapshots import AlbumSnapshot, LinkSnapshot, VkItemSnapshot

CREATE = RunAction.CREATE
UPDATE = RunAction.UPDATE
HIDE = RunAction.HIDE
RESTORE = RunAction.RESTORE
DELETE = RunAction.DELETE
ADOPT = RunAction.ADOPT


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


def _item_for(item: DesiredItem, link: LinkSnapshot | None, **fields) -> PlanItem:
    """A plan item for a selected product (and its link, if it has one)."""
    return PlanItem(
        store_id=item.store_id,
        product_id=item.product_id,
        product_name=item.product_name,
        link_id=link.id if link else None,
        desired=item,
        **fields,
    )


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
    adoption_decisions: dict[tuple[str, str], tuple[int, str]] | None = None,
) -> Plan:
    """The plan for one merchant.

    desired: the VK items the selected products should be (flags already set by the rules);
    links: every link of the merchant; albums: the albums we made (with their group keys);
    vk_items: the merchant's VK items from the VK catalog cache, to adopt (None: don't adopt);
    vk_albums: the community's albums, to adopt one whose title matches instead of making it;
    removed_keys: products removed at the till (for the reason shown; others are filtered out);
    confirmed_removals: the merchant confirmed a held run with that many removals;
    adoption_decisions: {product key: (VK item id, AdoptionVerdict)}, the merchant's answers
    about weak adoption matches.
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

    # Adoption: products without an item in VK, against VK items nobody links to. A weak match
    # waits for the merchant's answer (adoption_decisions) and is left out until then.
    adoptions: dict[tuple[str, str], VkItemSnapshot] = {}
    waiting: set[tuple[str, str]] = set()
    if vk_items is not None:
        plan.adoption_checked = True
        linked_ids = {link.vk_item_id for link in links if link.vk_item_id is not None}
        candidates = [
            item
            for item in desired
            if (link := links_by_key.get(item.key)) is None
            or (link.vk_item_id is None and link.state != LinkState.CREATING)
        ]
        free_items = [vk for vk in vk_items if vk.vk_id not in linked_ids]
        decisions = adoption_decisions or {}
        by_key = {item.key: item for item in candidates}
        for key, match in match_adoptions(candidates, free_items).items():
            if match.strength == STRONG:
                adoptions[key] = match.vk
                continue
            answer = decisions.get(key)
            if answer == (match.vk.vk_id, AdoptionVerdict.CONFIRMED):
                adoptions[key] = match.vk
            elif answer != (match.vk.vk_id, AdoptionVerdict.REJECTED):
                waiting.add(key)
                plan.adoption_reviews.append(AdoptionReview(by_key[key], match.vk, match.evidence))
        plan.adoption_reviews.sort(key=lambda r: r.desired.product_name.casefold())
    desired = [item for item in desired if item.key not in waiting]

    def publishable(item: DesiredItem) -> bool:
        """Whether the item can be in VK after the run (flags only stop new items)."""
        link = links_by_key.get(item.key)
        return (
            item.key in adoptions
            or (link is not None and link.vk_item_id is not None)
            or (not item.flags)
        )

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
        if not publishable(item):
            continue  # an album with nothing in it helps no one (issue 12)
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
                _item_for(
                    item,
                    link,
                    action=CREATE,
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

        restore_deleted = link.state == LinkState.DELETED
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
            _item_for(
                item,
                link,
                action=action,
                vk_item_id=link.vk_item_id,
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
            if link.state != LinkState.CREATING and link.id is not None:
                plan.links_to_drop.append(link.id)
            continue
        if link.state == LinkState.DELETED:
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
        if settings.removal_policy == RemovalPolicy.DELETE:
            plan.items.append(PlanItem(action=DELETE, changes={"deleted": [False, True]}, **common))
        elif not link.hidden:
            plan.items.append(
                PlanItem(action=HIDE, set_hidden=True, changes={"visible": [True, False]}, **common)
            )

    plan.albums_to_create = list(new_albums.values())
    planned = {album.title.casefold() for album in plan.albums_to_create}
    plan.albums_not_created = sorted(
        {
            item.album_title
            for item in desired
            if item.album_title
            and (item.store_id, item.album_group_id) not in group_album
            and item.album_title.casefold() not in planned
            and item.album_title.casefold() not in album_by_title
        },
        key=str.casefold,
    )
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
    return _item_for(
        item,
        link,
        action=ADOPT,
        vk_item_id=vk.vk_id,
        changes=changes,
        send_fields=send,
        set_hidden=set_hidden,
        album_add=album_add,
        flags=[f for f in item.flags if f not in (FLAG_NO_PHOTO, FLAG_NO_CATEGORY)],
        adopt_from=vk,
        sku=item.fields["sku"],
    )
