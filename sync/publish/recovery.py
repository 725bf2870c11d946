"""Resolving `creating` links: a `market.add` whose answer never came (a lost answer, a killed
worker). VK has no dedup key (docs/contracts/vk-market-api.md §11), so the sku we sent is looked up in VK:
the item is adopted if VK made it, else created again. No duplicate, no lost link."""

from __future__ import annotations

from django.db import transaction

from connections.vk_errors import VkApiError
from sync import reasons
from sync.models import (
    AlbumLink,
    ItemLink,
    LinkState,
    RunAction,
    RunItemStatus,
    SyncRun,
    SyncRunItem,
)
from sync.plan.adoption import find_by_sku
from sync.plan.snapshots import AlbumSnapshot, VkItemSnapshot
from sync.publish import links as link_states
from sync.publish.records import run_item


def read_vk(client, owner_id: int) -> tuple[list[VkItemSnapshot], list[AlbumSnapshot]]:
    """The community's items and albums as VK has them now (a few `market.get*` requests)."""
    albums = [AlbumSnapshot(a.id, a.title) for a in client.iter_albums(owner_id)]
    items = [VkItemSnapshot.from_vk(item) for item in client.iter_items(owner_id)]
    return items, albums


def resolve_creating_links(
    *, run: SyncRun, links: list[ItemLink], vk_items: list[VkItemSnapshot], managed_albums: set[int]
) -> tuple[int, int]:
    """Adopt the VK item with each link's sku if VK made it (counted created), else send the
    link back to be created. Returns (found, not found)."""
    taken = set(
        ItemLink.objects.filter(user_id=run.user_id, vk_item_id__isnull=False).values_list(
            "vk_item_id", flat=True
        )
    )
    found = missing = 0
    rows = []
    for link in sorted(links, key=lambda lk: lk.pk):
        vk = find_by_sku(link.sku, vk_items, exclude=taken)
        if vk is None:
            link_states.send_back_to_create(link)
            missing += 1
            continue
        taken.add(vk.vk_id)
        found += 1
        link_states.adopt(link, vk, managed_albums=managed_albums, made_by_us=True)
        rows.append(
            run_item(
                run=run,
                link=link,
                action=RunAction.CREATE,
                status=RunItemStatus.OK,
                changes={"vk_item_id": [None, vk.vk_id]},
            )
        )
    with transaction.atomic():
        ItemLink.objects.bulk_update(
            links,
            [
                "vk_item_id",
                "state",
                "adopted",
                "published_fields",
                "photo_hash",
                "album_ids",
                "published_at",
                "last_error",
                "error_count",
            ],
            batch_size=200,
        )
        SyncRunItem.objects.bulk_create(rows)
    run.created += found
    return found, missing


def resolve_lost_answers(*, run: SyncRun, client, owner_id: int, links: list[ItemLink]) -> None:
    """market.add answers lost during this run: look the skus up in VK now, if VK answers.

    Found: the item is linked (counted created). Not found: VK did not make it; it is created
    on the next run. VK still silent: the links stay `creating` for the next run to resolve.
    """
    pks = [link.pk for link in links]
    try:
        vk_items, _albums = read_vk(client, owner_id)
    except VkApiError:
        vk_items = None
    fresh = list(ItemLink.objects.filter(pk__in=pks, state=LinkState.CREATING))
    found = 0
    if vk_items is not None:
        managed = set(
            AlbumLink.objects.filter(user_id=run.user_id).values_list("vk_album_id", flat=True)
        )
        found, _missing = resolve_creating_links(
            run=run, links=fresh, vk_items=vk_items, managed_albums=managed
        )
    unresolved = [
        link for link in fresh if link.state not in (LinkState.PUBLISHED, LinkState.HIDDEN)
    ]
    message = (
        reasons.ANSWER_LOST_NOT_CREATED if vk_items is not None else reasons.ANSWER_LOST_UNKNOWN
    )
    SyncRunItem.objects.bulk_create(
        run_item(
            run=run, link=link, action=RunAction.CREATE, status=RunItemStatus.FAILED, error=message
        )
        for link in unresolved
    )
    run.failed += len(unresolved)
    run.done += found + len(unresolved)
