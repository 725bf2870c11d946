"""The VK calls for plan items (docs/contracts/vk-market-api.md §3): pure functions, no state.

New items go in photo groups: one `market.saveProductPhotoBulk` for the group's uploaded photos,
then a `market.add` per item whose `main_photo_id` is `VkRef(save, "<n>.photo_id")` and whose
`photo_ids` (a new item's extra photos, uploaded right after its main one) are the refs that
follow (§3, §13);
where VK refuses bulk uploads a group is one item, `market.saveProductPhoto` + `market.add`. A
changed photo is the same with `market.edit`; everything else is one `market.edit`,
`market.delete`, or `market.restore` (+ `market.edit`).
"""

from __future__ import annotations

from connections.vk_client import VkClient, upload_url_call
from connections.vk_script import VkCall, VkRef
from sync.models import RunAction
from sync.plan.plan import PlanItem
from sync.plan.rules import vk_params


def main_call(
    item: PlanItem,
    *,
    owner_id: int,
    vk_item_id: int | None,
    photo_ref: VkRef | None,
    extra_refs: list[VkRef] = (),
) -> VkCall:
    """`market.add` for a new item (with its extra photos, `extra_refs`), else `market.edit`
    with the changed fields."""
    if item.action == RunAction.CREATE:
        fields = {k: v for k, v in item.send_fields.items() if v is not None}
        params = {"owner_id": owner_id, **vk_params(fields)}
        if item.set_hidden:
            params["deleted"] = 1
        params["main_photo_id"] = photo_ref
        if extra_refs:
            params["photo_ids"] = list(extra_refs)
        return VkCall("market.add", params)
    params = {"owner_id": owner_id, "item_id": vk_item_id}
    params.update(vk_params(item.send_fields))
    if item.set_hidden is not None:
        params["deleted"] = 1 if item.set_hidden else 0
    if photo_ref is not None:
        params["main_photo_id"] = photo_ref
    return VkCall("market.edit", params)


def simple_calls(item: PlanItem, *, owner_id: int, vk_item_id: int) -> list[VkCall]:
    """An item with no photo to send: delete, or restore and/or edit."""
    target = {"owner_id": owner_id, "item_id": vk_item_id}
    if item.action == RunAction.DELETE:
        return [VkCall("market.delete", target)]
    calls = []
    if item.restore_deleted:
        calls.append(VkCall("market.restore", target))
    if item.send_fields or item.set_hidden is not None:
        calls.append(main_call(item, owner_id=owner_id, vk_item_id=vk_item_id, photo_ref=None))
    return calls


def group_calls(
    items: list[tuple[PlanItem, int | None]],
    *,
    owner_id: int,
    upload_response: str,
    bulk: bool,
    at: int,
    extra_counts: list[int] | None = None,
) -> list[VkCall]:
    """Save a group's uploaded photos, then add or edit each item ((item, vk_item_id)) with its
    photo; `at`: the index the save will have in its request (what the `VkRef`s point at).
    `extra_counts`: how many extra photos follow each item's main one in the upload (a new
    item's `photo_ids`, in that order)."""
    save = VkClient.save_product_photo_call(upload_response, bulk=bulk)
    counts = extra_counts or [0] * len(items)
    mains = []
    for (item, vk_item_id), first, extras in zip(items, photo_offsets(counts), counts, strict=True):
        photo_ref = VkRef(at, f"{first}.photo_id" if bulk else "photo_id")
        extra_refs = [VkRef(at, f"{first + n}.photo_id") for n in range(1, 1 + extras)]
        mains.append(
            main_call(
                item,
                owner_id=owner_id,
                vk_item_id=vk_item_id,
                photo_ref=photo_ref,
                extra_refs=extra_refs,
            )
        )
    return [save, *mains]


def photo_offsets(extra_counts: list[int]) -> list[int]:
    """Where each item's main photo is in a bulk save's answer (its extras follow it)."""
    offsets, at = [], 0
    for extras in extra_counts:
        offsets.append(at)
        at += 1 + extras
    return offsets


def upload_url_calls(group_id: int, count: int, *, bulk: bool = False) -> list[VkCall]:
    return [upload_url_call(group_id, bulk=bulk) for _ in range(count)]
