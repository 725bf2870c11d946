"""The merchant's answers about VK items the planner was not sure to adopt (sync.plan.adoption).

The preview lists the weak matches (`Plan.adoption_reviews`) with confirm / reject forms; the
answer is stored here and the next plan adopts the item or creates a new one.
"""

from __future__ import annotations

from django.db import transaction

from sync.models import AdoptionDecision, AdoptionVerdict


class AdoptionNotFound(Exception):
    """The product or the VK item is not this merchant's (the page answers 404)."""


@transaction.atomic
def adoption_decide(
    *, user, store_id: str, product_id: str, vk_item_id: int, verdict: str
) -> AdoptionDecision:
    """Record the merchant's answer: `verdict` is an `AdoptionVerdict`. Both the product and
    the VK item must be the merchant's own (from their catalog caches), else AdoptionNotFound."""
    from catalog.models import CachedProduct
    from vk_catalog.models import VkCachedProduct

    if verdict not in AdoptionVerdict.values:
        raise ValueError(f"Unknown adoption verdict: {verdict!r}")
    product_known = CachedProduct.objects.filter(
        user=user, store_evotor_id=store_id, evotor_id=product_id
    ).exists()
    vk_known = VkCachedProduct.objects.filter(user=user, vk_id=vk_item_id).exists()
    if not (product_known and vk_known):
        raise AdoptionNotFound
    decision, _created = AdoptionDecision.objects.update_or_create(
        user=user,
        store_id=store_id,
        product_id=product_id,
        defaults={"vk_item_id": vk_item_id, "verdict": verdict},
    )
    return decision
