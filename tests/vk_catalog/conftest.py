"""Fixtures of the VK catalog tests: a connected owner, cached rows, a fast VK sandbox."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connections.models import VkConnection
from vk_catalog.models import VkCachedAlbum, VkCachedProduct, VkCachedProductAlbum

DEMO_TOKEN = "vk-demo-token"
DEMO_GROUP = 200001
MARKET_OFF_GROUP = 200002


def make_album(user, vk_id: int, **fields) -> VkCachedAlbum:
    defaults = {
        "owner_id": -DEMO_GROUP,
        "title": f"Альбом {vk_id}",
        "item_count": 0,
        "content_hash": "x",
    }
    return VkCachedAlbum.objects.create(user=user, vk_id=vk_id, **{**defaults, **fields})


def make_products(user, count: int, *, start: int = 1, album=None, **fields) -> list:
    """`count` cached items in one INSERT (and their album links in another)."""
    rows = [
        VkCachedProduct(
            user=user,
            vk_id=start + n,
            owner_id=-DEMO_GROUP,
            title=fields.get("title", f"Товар {start + n:05d}"),
            price=fields.get("price", Decimal("150.00")),
            old_price=fields.get("old_price"),
            availability=fields.get("availability", 0),
            sku=fields.get("sku", f"SKU-{start + n}"),
            album_ids=[album.vk_id] if album else [],
            thumb_url=fields.get("thumb_url", f"https://img.example/{start + n}.jpg"),
            content_hash="x",
            is_removed=fields.get("is_removed", False),
        )
        for n in range(count)
    ]
    VkCachedProduct.objects.bulk_create(rows)
    products = list(
        VkCachedProduct.objects.filter(user=user, vk_id__gte=start, vk_id__lt=start + count)
    )
    if album:
        VkCachedProductAlbum.objects.bulk_create(
            [VkCachedProductAlbum(product=product, album=album) for product in products]
        )
    return products


@pytest.fixture
def vk_connection(owner) -> VkConnection:
    """The owner, connected to the sandbox's demo community with the demo user token."""
    return VkConnection.objects.create(user=owner, access_token=DEMO_TOKEN, group_id=DEMO_GROUP)


@pytest.fixture
def fast_vk(vk_sandbox, settings):
    """The sandbox without VK's 3 requests a second, so tests do not wait on the limiter."""
    vk_sandbox.set_rate_limit(1000)
    settings.VK_REQUESTS_PER_SECOND = 1000
    return vk_sandbox
