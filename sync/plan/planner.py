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

from collections.abc import Iterable

from sync.models import LinkState, RunAction
from sync.plan.adoption import Adoptions, adoptions_for
from sync.plan.album_index import AlbumIndex
from sync.plan.item_budget import ItemBudget
from sync.plan.item_plan import plan_adoption, plan_existing, plan_gone, plan_new
from sync.plan.ownership import kept_fields, kept_note, kept_on_adoption
from sync.plan.plan import REASON_FILTERED, REASON_REMOVED, Plan
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
    links_by_key = {link.key: link for link in links}
    wanted_keys = {item.key for item in desired}  # before weak adoptions are left out
    adoptions = None
    if vk_items is not None:
        adoptions = adoptions_for(desired, links_by_key, vk_items, adoption_decisions or {})
    builder = PlanBuilder(
        settings=settings,
        albums=AlbumIndex(albums, desired),
        adoptions=adoptions,
        vk_albums=vk_albums,
    )
    builder.add_products(desired, links_by_key)
    builder.add_gone([link for link in links if link.key not in wanted_keys], removed_keys)
    return builder.finish(
        unchanged=unchanged,
        unchanged_published=unchanged_published,
        confirmed_removals=confirmed_removals,
    )


class PlanBuilder:
    """A plan built from its products a part at a time (`build_plan` gives them all at once;
    sync/plan/chunk_plan.py a chunk at a time), its items held by an `ItemBudget`.

    What must be known of the whole catalog before the first item comes in: the album index
    with its renames (from the products' groups) and the adoptions.
    """

    def __init__(
        self,
        *,
        settings: RuleSettings,
        albums: AlbumIndex,
        adoptions: Adoptions | None = None,
        vk_albums: list[AlbumSnapshot] = (),
        budget: ItemBudget | None = None,
        watch: frozenset = frozenset(),
    ):
        """`watch`: products whose items are kept in `watched` whatever the budget holds (the
        variant members: sync/plan/variant_inputs.py plans their groups from them)."""
        self.settings = settings
        self.watch = watch
        self.watched: list = []
        self.albums = albums
        self.budget = budget or ItemBudget()
        self.plan = Plan(guard_percent=settings.removal_guard_percent)
        self.plan.album_renames = albums.renames
        self.adopt: dict[tuple[str, str], VkItemSnapshot] = {}
        self.waiting: set[tuple[str, str]] = set()
        if adoptions is not None:
            self.plan.adoption_checked = True
            self.adopt = adoptions.adopt
            self.waiting = adoptions.waiting
            self.plan.adoption_reviews = adoptions.reviews
        albums.begin_new(vk_albums)
        self.published = 0  # visible items among the links seen
        self.removals = 0

    def add_products(self, desired: Iterable[DesiredItem], links_by_key: dict) -> set:
        """Plan these products (with their links by key), one at a time: `desired` may be a
        generator, so an item the budget lets go is freed at once. Returns the keys of those
        that got an item (the others are unchanged, or wait for an adoption answer).

        Each item's album is noted just before the item is planned: the only thing an item
        reads of the albums to create is its own title's (`AlbumIndex.target_for`), which its
        own note makes whenever it can be published."""
        planned = set()
        for item in desired:
            link = links_by_key.get(item.key)
            self.published += link is not None and link.on_vk and not link.hidden
            if item.key in self.waiting:
                continue
            publishable = (
                item.key in self.adopt
                or (link is not None and link.vk_item_id is not None)
                or (not item.flags)
            )
            self.albums.note(item, publishable)
            if self._plan_product(item, link):
                planned.add(item.key)
        return planned

    def _plan_product(self, item: DesiredItem, link: LinkSnapshot | None) -> bool:
        """Plan one product; whether it got an item."""
        vk_owned = self.settings.vk_owned
        album_title = self.albums.title_for(item)
        if item.key in self.adopt:
            vk = self.adopt[item.key]
            target_album = self.albums.target_for(item, album_title)
            self._add(plan_adoption(item, link, vk, album_title, target_album, vk_owned=vk_owned))
            if kept := kept_on_adoption(item, vk, vk_owned):
                self._keep_note(kept_note(item, vk.vk_id, kept))
            return True
        if link is None or link.vk_item_id is None:
            self._add(plan_new(item, link, album_title))
            return True
        kept = kept_fields(item, link, vk_owned, albums=self.albums, album_title=album_title)
        if kept and link.state != LinkState.DELETED:
            self._keep_note(kept_note(item, link.vk_item_id, kept))
        planned_item = plan_existing(item, link, self.albums, album_title, vk_owned)
        if planned_item is None:
            self.plan.unchanged += 1
            return False
        self._add(planned_item)
        return True

    def add_gone(self, links: list[LinkSnapshot], removed_keys) -> None:
        """Links whose product is no longer selected, or was removed at the till."""
        for link in links:
            self.published += link.on_vk and not link.hidden
            if link.vk_item_id is None:
                if link.state != LinkState.CREATING and link.id is not None:
                    self.plan.links_to_drop.append(link.id)
                continue
            if link.state == LinkState.DELETED:
                continue
            reason = REASON_REMOVED if link.key in removed_keys else REASON_FILTERED
            gone = plan_gone(link, reason=reason, removal_policy=self.settings.removal_policy)
            if gone is not None:
                self._add(gone)

    def _add(self, item) -> None:
        if item.action in (RunAction.HIDE, RunAction.DELETE):
            self.removals += 1
        if item.key in self.watch:
            self.watched.append(item)
        self.budget.add(item)

    def _keep_note(self, note) -> None:
        self.budget.keep_note(note)

    def finish(
        self, *, unchanged: int = 0, unchanged_published: int = 0, confirmed_removals=None
    ) -> Plan:
        plan = self.plan
        plan.unchanged += unchanged
        plan.published = unchanged_published + self.published
        plan.items = self.budget.items()
        plan.kept_in_vk = self.budget.kept_notes()
        plan.not_held = self.budget.not_held
        plan.albums_to_create = list(self.albums.new.values())
        plan.albums_not_created = self.albums.not_created()
        plan.removals = self.removals
        held = guard_holds(
            removals=plan.removals,
            published=plan.published,
            percent=self.settings.removal_guard_percent,
        )
        if held and confirmed_removals is not None and plan.removals <= confirmed_removals:
            held = False
        plan.guard_held = held
        return plan
