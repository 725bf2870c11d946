"""The planner: what publishing will do to VK, computed from plain data (no VK call, no write).

`build_plan` compares the VK item each selected product should be (sync.plan.rules) with the
links of what was published before, and says per product: create / update (only the fields
that changed) / hide / restore / delete / adopt / nothing, plus the albums to create or rename
and the album memberships to change. Products VK would refuse are flagged with the reasons and
skipped. The removal guard is decided here too.

The steps each live in their own module: albums (sync/plan/album_index.py), adoption
(sync/plan/adoption.py), one product's item (sync/plan/item_plan.py).

`sync.plan.inputs.plan_from_inputs` feeds it from the database, for the preview
(sync/plan/preview.py) and the run (sync/publish/run.py).
"""

from __future__ import annotations

from sync.models import LinkState, RunAction
from sync.plan.adoption import adoptions_for
from sync.plan.album_index import AlbumIndex
from sync.plan.item_plan import plan_adoption, plan_existing, plan_gone, plan_new
from sync.plan.ownership import kept_fields, kept_note, kept_on_adoption
from sync.plan.plan import ACTION_ORDER, REASON_FILTERED, REASON_REMOVED, Plan
from sync.plan.rules import DesiredItem, RuleSettings
from sync.plan.snapshots import AlbumSnapshot, LinkSnapshot, VkItemSnapshot


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
    unchanged: int = 0,
    unchanged_published: int = 0,
) -> Plan:
    """The plan for one merchant.

    desired: the VK items the selected products should be (flags already set by the rules);
    links: the links of the products in `desired` and of those no longer selected; albums: the albums we made (with their group keys);
    vk_items: the merchant's VK items from the VK catalog cache, to adopt (None: don't adopt);
    vk_albums: the community's albums, to adopt one whose title matches instead of making it;
    removed_keys: products removed at the till (for the reason shown; others are filtered out);
    confirmed_removals: the merchant confirmed a held run with that many removals;
    adoption_decisions: {product key: (VK item id, AdoptionVerdict)}, the merchant's answers
    about weak adoption matches;
    unchanged: how many selected products are known unchanged and not computed
    (sync/plan/skip.py; their links are not in `links`), and `unchanged_published` how many of
    their items are visible in VK (the removal guard's base).
    """
    plan = Plan(guard_percent=settings.removal_guard_percent)
    links_by_key = {link.key: link for link in links}
    wanted_keys = {item.key for item in desired}  # before weak adoptions are left out
    album_index = AlbumIndex(albums, desired)
    plan.album_renames = album_index.renames

    adopt: dict[tuple[str, str], VkItemSnapshot] = {}
    if vk_items is not None:
        plan.adoption_checked = True
        adoptions = adoptions_for(desired, links_by_key, vk_items, adoption_decisions or {})
        adopt = adoptions.adopt
        plan.adoption_reviews = adoptions.reviews
        desired = [item for item in desired if item.key not in adoptions.waiting]

    def publishable(item: DesiredItem) -> bool:
        """Whether the item can be in VK after the run (flags only stop new items)."""
        link = links_by_key.get(item.key)
        return (
            item.key in adopt
            or (link is not None and link.vk_item_id is not None)
            or (not item.flags)
        )

    album_index.plan_new(desired, vk_albums, publishable)

    plan.published = unchanged_published + sum(
        1 for link in links if link.on_vk and not link.hidden
    )
    vk_owned = settings.vk_owned
    for item in desired:
        link = links_by_key.get(item.key)
        album_title = album_index.title_for(item)
        if item.key in adopt:
            vk = adopt[item.key]
            target_album = album_index.target_for(item, album_title)
            plan.items.append(
                plan_adoption(item, link, vk, album_title, target_album, vk_owned=vk_owned)
            )
            if kept := kept_on_adoption(item, vk, vk_owned):
                plan.kept_in_vk.append(kept_note(item, vk.vk_id, kept))
            continue
        if link is None or link.vk_item_id is None:
            plan.items.append(plan_new(item, link, album_title))
            continue
        kept = kept_fields(item, link, vk_owned, albums=album_index, album_title=album_title)
        if kept and link.state != LinkState.DELETED:
            plan.kept_in_vk.append(kept_note(item, link.vk_item_id, kept))
        planned = plan_existing(item, link, album_index, album_title, vk_owned)
        if planned is not None:
            plan.items.append(planned)
        else:
            plan.unchanged += 1

    # Links whose product is no longer selected, or was removed at the till.
    plan.unchanged += unchanged
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
        gone = plan_gone(link, reason=reason, removal_policy=settings.removal_policy)
        if gone is not None:
            plan.items.append(gone)

    plan.albums_to_create = list(album_index.new.values())
    plan.albums_not_created = album_index.not_created(desired)
    plan.removals = sum(
        1 for item in plan.items if item.action in (RunAction.HIDE, RunAction.DELETE)
    )
    held = guard_holds(
        removals=plan.removals, published=plan.published, percent=settings.removal_guard_percent
    )
    if held and confirmed_removals is not None and plan.removals <= confirmed_removals:
        held = False
    plan.guard_held = held
    plan.items.sort(key=lambda i: (ACTION_ORDER.index(i.action), i.product_name.casefold()))
    plan.kept_in_vk.sort(key=lambda k: k.product_name.casefold())
    return plan
