"""The VK calls for plan items (docs/contracts/vk-market-api.md §3): pure functions, no state.

New items go in photo groups: one `market.saveProductPhotoBulk` for the group's uploaded photos,
then a `market.add` per item whose `main_photo_id` is `VkRef(save, "<n>.photo_id")` (§13);
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
    item: PlanItem, *, owner_id: int, vk_item_id: int | None, photo_ref: VkRef | None
) -> VkCall:
    """`market.add` for a new item, else `market.edit` with the changed fields."""
    if item.action == RunAction.CREATE:
        fields = {k: v for k, v in item.send_fields.items() if v is not None}
        params = {"owner_id": owner_id, **vk_params(fields)}
        if item.set_hidden:
            params["deleted"] = 1
        params["main_photo_id"] = photo_ref
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
) -> list[VkCall]:
    """Save a group's uploaded photos, then add or edit each item ((item, vk_item_id)) with its
    photo; `at`: the index the save will have in its request (what the `VkRef`s point at)."""
    save = VkClient.save_product_photo_call(upload_response, bulk=bulk)
    mains = [
        main_call(
            item,
            owner_id=owner_id,
            vk_item_id=vk_item_id,
            photo_ref=VkRef(at, f"{n}.photo_id" if bulk else "photo_id"),
        )
        for n, (item, vk_item_id) in enumerate(items)
    ]
    return [save, *mains]


def upload_url_calls(group_id: int, count: int, *, bulk: bool = False) -> list[VkCall]:
    return [upload_url_call(group_id, bulk=bulk) for _ in range(count)]
