"""Skipping unchanged products before their VK item is computed (issue 10 item 4).

A whole plan that finds a published item already as it should be stamps its link with a
fingerprint of everything the item was computed from: the product's content hash, the album
group and its title, the album it is in, the fallback photo, the link's own state (VK item,
published fields, photo, albums, the Evotor image seen) and the rule settings. The next whole
plan compares that fingerprint first and, when it is equal, counts the product unchanged
without building its item, so a scheduled cycle with nothing changed only reads and hashes.

A product whose group shares its album with other groups is never skipped: renaming such an
album depends on the titles of all its groups' items (sync/plan/album_index.py).
"""

from __future__ import annotations

import hashlib
import json

from sync.models import ItemLink, LinkState
from sync.plan import rules

SKIPPABLE_STATES = (LinkState.PUBLISHED, LinkState.HIDDEN)


class UnchangedCheck:
    """Fingerprints for one plan's inputs (a `sync.plan.inputs.Inputs` being built)."""

    def __init__(self, inputs):
        self.inputs = inputs
        self.settings = repr(inputs.rule_settings)
        self.album_of: dict[tuple[str, str], int] = {}
        shared: set[tuple[str, str]] = set()
        for album in inputs.albums:
            for key in album.group_keys:
                self.album_of[key] = album.vk_album_id
            if len(album.group_keys) > 1:
                shared.update(album.group_keys)
        self.shared = shared

    def fingerprint(
        self,
        *,
        link,
        store_id: str,
        product_id: str,
        content_hash: str,
        group_id: str,
        group_name: str,
    ) -> str | None:
        """The product's fingerprint with its `link` (an ItemLink or None), or None when it
        may not be skipped."""
        if (
            link is None
            or link.vk_item_id is None
            or link.state not in SKIPPABLE_STATES
            or link.last_error
            or (store_id, group_id) in self.shared
        ):
            return None
        chain = self.inputs.group_chain(store_id, group_id)
        photo = self.inputs.fallbacks.for_product(store_id, product_id, chain)
        parts = (
            content_hash,
            group_id,
            group_name,
            str(self.album_of.get((store_id, group_id), "")),
            photo.photo_hash if photo is not None else "",
            str(link.vk_item_id),
            link.state,
            link.sku,
            link.photo_hash,
            link.source_hash,
            link.evotor_image,
            str(link.adopted),
            json.dumps(link.published_fields, sort_keys=True, default=str),
            json.dumps(sorted(int(a) for a in link.album_ids or ())),
            self.settings,
        )
        return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()

    @staticmethod
    def skips(link, fingerprint: str | None) -> bool:
        return fingerprint is not None and link is not None and link.plan_hash == fingerprint


def stamp_unchanged(inputs, plan) -> int:
    """Stamp the links of the products `plan` found unchanged with their fingerprint (a whole
    run calls it after planning). Returns how many links were written."""
    return stamp_products(inputs, {item.key for item in plan.items})


def stamp_products(inputs, planned: set[tuple[str, str]]) -> int:
    """Stamp the links of `inputs.products` that got no item (not in `planned`): a plan built
    in chunks stamps each chunk as it goes (sync/plan/chunk_plan.py)."""
    check = UnchangedCheck(inputs)
    changed = []
    for product in inputs.products:
        key = (product.store_id, product.product_id)
        if key in planned:
            continue
        link = inputs.links.get(key)
        fingerprint = check.fingerprint(
            link=link,
            store_id=product.store_id,
            product_id=product.product_id,
            content_hash=product.source_hash,
            group_id=product.group_id,
            group_name=product.group_name,
        )
        if fingerprint is not None and link.plan_hash != fingerprint:
            link.plan_hash = fingerprint
            changed.append(link)
    if changed:
        ItemLink.objects.bulk_update(changed, ["plan_hash"], batch_size=500)
    return len(changed)


def assign_skus_besides(
    products: list[rules.SourceProduct], *, kept: dict, reserved: set[str]
) -> dict[tuple[str, str], str]:
    """`rules.assign_skus` for `products` when other items already carry the skus `reserved`
    (lower case): a product whose sku one of them has takes its link's own sku if that is
    free, else its fallback sku."""
    skus = rules.assign_skus(products, kept=kept)
    if not reserved:
        return skus
    for product in products:
        key = (product.store_id, product.product_id)
        if skus[key].lower() in reserved:
            previous = kept.get(key)
            free = previous and previous.lower() not in reserved
            skus[key] = previous if free else rules.fallback_sku(product)
    return skus
