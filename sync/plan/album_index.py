"""The albums side of a plan: which album each item belongs in, by title and by Evotor group.

Albums are matched by title: a title we already have an album for reuses it, a group whose
album we made keeps it (renamed when every group of the album now carries one new title), and a
title nobody has yet becomes an album to create, or adopts a community album of that title we
did not make. An album none of whose items can be published is not created (issue 12).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

from sync.plan.plan import AlbumPlan, AlbumRename
from sync.plan.rules import DesiredItem
from sync.plan.snapshots import AlbumSnapshot


class AlbumIndex:
    """The albums we made (`albums`), looked up for the items of one plan (`desired`)."""

    def __init__(
        self,
        albums: Iterable[AlbumSnapshot],
        desired: Iterable[DesiredItem] = (),
        *,
        group_titles: Iterable[tuple[tuple[str, str], str]] | None = None,
    ):
        """`desired`: the plan's items; or `group_titles`, the (group key, album title) pairs
        of those items, when the plan is built in chunks (sync/plan/chunk_plan.py)."""
        self.by_title: dict[str, int] = {}  # casefolded title → album we made
        self.title_of: dict[int, str] = {}
        self.groups_of: dict[int, list[tuple[str, str]]] = defaultdict(list)
        self.of_group: dict[tuple[str, str], int] = {}  # (store, Evotor group) → album
        for album in albums:
            self.by_title.setdefault(album.title.casefold(), album.vk_album_id)
            self.title_of[album.vk_album_id] = album.title
            self.groups_of[album.vk_album_id].extend(album.group_keys)
            for key in album.group_keys:
                self.of_group[key] = album.vk_album_id
        self.managed_ids = set(self.title_of)
        if group_titles is None:
            group_titles = ((_group_key(item), item.album_title) for item in desired)
        self.renames = self._renames(group_titles)
        self._renamed = {rename.vk_album_id: rename.new_title for rename in self.renames}
        self.new: dict[str, AlbumPlan] = {}  # casefolded title → album to create
        self._community: dict[str, int] = {}
        self._unmade: set[str] = set()  # titles of items whose group has no album of ours

    def _renames(self, group_titles) -> list[AlbumRename]:
        """An album every group of which now carries one new title (free of other albums)."""
        titles_now: dict[int, set[str]] = defaultdict(set)
        for key, title in group_titles:
            album_id = self.of_group.get(key) if title else None
            if album_id is not None:
                titles_now[album_id].add(title)
        renames = []
        for album_id, titles in titles_now.items():
            if len(titles) != 1:
                continue
            (title,) = titles
            old = self.title_of[album_id]
            if title != old and title.casefold() not in self.by_title:
                renames.append(AlbumRename(album_id, old, title, sorted(self.groups_of[album_id])))
        return renames

    def title_for(self, item: DesiredItem) -> str:
        """The title of the album this item belongs in ("" for none), after renames."""
        if not item.album_title:
            return ""
        album_id = self.of_group.get(_group_key(item))
        if album_id is not None:
            return self._renamed.get(album_id, self.title_of[album_id])
        return item.album_title

    def target_for(self, item: DesiredItem, title: str) -> int | None:
        """The VK album the item goes in, when it exists already (None: made during the run)."""
        target = None
        if title:
            folded = title.casefold()
            target = self.by_title.get(folded)
            if target is None and folded in self.new:
                target = self.new[folded].adopt_vk_album_id
        return self.of_group.get(_group_key(item), target)

    def plan_new(
        self,
        desired: list[DesiredItem],
        vk_albums: Iterable[AlbumSnapshot],
        publishable: Callable[[DesiredItem], bool],
    ) -> None:
        """The albums to create (or adopt from the community) for groups without one."""
        self.begin_new(vk_albums)
        for item in desired:
            self.note(item, publishable(item))

    def begin_new(self, vk_albums: Iterable[AlbumSnapshot]) -> None:
        """Before `note`: the community's albums we did not make, which a title may adopt."""
        for album in vk_albums:
            if album.vk_album_id not in self.managed_ids:
                self._community.setdefault(album.title.casefold(), album.vk_album_id)

    def note(self, item: DesiredItem, publishable: bool) -> None:
        """One item of the plan: its group's album is made when some item of it can be
        published (`publishable`: an album with nothing in it helps no one, issue 12)."""
        key = _group_key(item)
        if not item.album_title or key in self.of_group:
            return
        self._unmade.add(item.album_title)
        folded = item.album_title.casefold()
        if not publishable:
            return
        if folded in self.by_title:
            return  # an album we made for another group of that title: linked at publish
        plan_album = self.new.get(folded)
        if plan_album is None:
            plan_album = AlbumPlan(
                title=item.album_title,
                group_keys=[],
                adopt_vk_album_id=self._community.get(folded),
            )
            self.new[folded] = plan_album
        if key not in plan_album.group_keys:
            plan_album.group_keys.append(key)

    def not_created(self, desired: Iterable[DesiredItem] = ()) -> list[str]:
        """Titles no album is made for: none of their items can be published (of the items
        `note` saw, and of `desired`)."""
        titles = self._unmade | {
            item.album_title
            for item in desired
            if item.album_title and _group_key(item) not in self.of_group
        }
        return sorted(
            {
                title
                for title in titles
                if title.casefold() not in self.new and title.casefold() not in self.by_title
            },
            key=str.casefold,
        )


def _group_key(item: DesiredItem) -> tuple[str, str]:
    return (item.store_id, item.album_group_id)
