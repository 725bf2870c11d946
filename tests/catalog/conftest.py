"""Fixtures of the catalog tests: an Evotor connection on the sandbox's demo token, and a
factory that writes a cached catalog straight into the database for the page tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import CachedGroup, CachedProduct, CachedStore
from catalog.refresh import search_text
from connections.models import EvotorConnection

DEMO_TOKEN = "evotor-demo-token"
DEMO_USER_ID = "01-000000000000001"
# The demo's stores, in the sandbox's order; the third answers 402 (sandbox/evotor/demo.py).
SHOP, CAFE, LOCKED = range(3)


def connect_evotor(user, token: str = DEMO_TOKEN, **extra) -> EvotorConnection:
    return EvotorConnection.objects.create(
        user=user, cloud_token=token, evotor_user_id=DEMO_USER_ID, **extra
    )


@pytest.fixture
def evotor_connection(owner) -> EvotorConnection:
    return connect_evotor(owner)


@pytest.fixture
def sandbox(evotor_sandbox):
    """The Evotor emulator with its three demo stores (ids in `sandbox.store_ids()`)."""
    return evotor_sandbox


@dataclass
class Catalog:
    store: CachedStore
    groups: dict[str, CachedGroup] = field(default_factory=dict)  # by name
    products: list[CachedProduct] = field(default_factory=list)


def make_catalog(
    user,
    *,
    store_id: str = "20190412-0000-0000-0000-000000000001",
    name: str = "Продукты у дома",
    products: int = 10,
    group_ids: dict[str, str] | None = None,
) -> Catalog:
    """A store with the tree Напитки → {Соки, Вода → Минеральная} and Выпечка, and `products`
    products spread over the leaves (every fifth one outside any group)."""
    now = timezone.now()
    store = CachedStore.objects.create(
        user=user, evotor_id=store_id, name=name, first_seen_at=now, last_seen_at=now
    )
    ids = group_ids or {}
    tree = [
        ("Напитки", ""),
        ("Соки", "Напитки"),
        ("Вода", "Напитки"),
        ("Минеральная", "Вода"),
        ("Выпечка", ""),
    ]
    catalog = Catalog(store=store)
    for index, (group_name, parent) in enumerate(tree):
        evotor_id = ids.get(group_name, f"{store_id[-4:]}-group-{index}")
        catalog.groups[group_name] = CachedGroup.objects.create(
            user=user,
            store=store,
            store_evotor_id=store_id,
            evotor_id=evotor_id,
            parent_evotor_id=catalog.groups[parent].evotor_id if parent else "",
            name=group_name,
            content_hash="x",
            first_seen_at=now,
            last_seen_at=now,
        )
    leaves = ["Соки", "Минеральная", "Вода", "Выпечка"]
    rows = []
    for n in range(products):
        leaf = "" if n % 5 == 4 else leaves[n % 4]
        product_name = f"Товар №{n + 1:04d} {leaf or 'без группы'}"
        barcode = f"46000000{n:05d}"
        rows.append(
            CachedProduct(
                user=user,
                store=store,
                store_evotor_id=store_id,
                evotor_id=f"{store_id[-4:]}-product-{n}",
                parent_evotor_id=catalog.groups[leaf].evotor_id if leaf else "",
                name=product_name,
                price=Decimal("10.50") + n,
                quantity=Decimal(n % 3),
                measure_name="шт",
                allow_to_sell=n % 7 != 6,
                article_number=f"ART-{n}",
                barcodes=[barcode],
                content_hash="x",
                search_text=search_text(product_name, f"ART-{n}", barcode),
                first_seen_at=now,
                last_seen_at=now,
            )
        )
    CachedProduct.objects.bulk_create(rows)
    catalog.products = list(CachedProduct.objects.filter(store=store).order_by("pk"))
    return catalog
