"""The catalog refresh against the Evotor sandbox over real HTTP."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import (
    CachedGroup,
    CachedProduct,
    CachedStore,
    CatalogRefresh,
    RefreshStatus,
)
from catalog.services import catalog_refresh_for_user, catalog_refresh_request, lock_key
from catalog.signals import catalog_refreshed
from connections.models import ConnectionState
from tests.catalog.conftest import CAFE, LOCKED, SHOP, connect_evotor

pytestmark = pytest.mark.django_db


def writes(queries, table: str) -> list[str]:
    """The INSERT/UPDATE/DELETE statements on `table` among captured queries."""
    return [
        q["sql"]
        for q in queries
        if re.match(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", q["sql"], re.IGNORECASE)
        and re.search(rf"\b{table}\b", q["sql"])
    ]


@pytest.fixture
def refreshed(owner, evotor_connection, sandbox):
    result = catalog_refresh_for_user(user=owner)
    assert result.ok, result.error
    return result


def test_refresh_reads_stores_nested_groups_and_products_with_every_field(
    owner, evotor_connection, sandbox
):
    result = catalog_refresh_for_user(user=owner)

    assert result.ok
    store_ids = sandbox.store_ids()
    stores = {s.evotor_id: s for s in CachedStore.objects.filter(user=owner)}
    assert set(stores) == set(store_ids)
    shop = stores[store_ids[SHOP]]
    assert shop.name == "Продукты у дома"
    assert shop.address.startswith("Россия, г. Москва")
    assert shop.catalog_refreshed_at is not None

    for index in (SHOP, CAFE):
        sid = store_ids[index]
        expected_groups = {g["id"]: g for g in sandbox.groups(sid)}
        cached_groups = {
            g.evotor_id: g for g in CachedGroup.objects.filter(user=owner, store_evotor_id=sid)
        }
        assert set(cached_groups) == set(expected_groups)
        for gid, group in cached_groups.items():
            assert group.name == expected_groups[gid]["name"]
            assert group.parent_evotor_id == expected_groups[gid].get("parent_id", "")
        expected = {p["id"]: p for p in sandbox.products(sid)}
        assert CachedProduct.objects.filter(user=owner, store_evotor_id=sid).count() == len(
            expected
        )

    # A group two levels down: its parent chain resolves inside the cache.
    groups = {g.evotor_id: g for g in CachedGroup.objects.filter(store=shop)}
    depths = []
    for group in groups.values():
        depth, node = 0, group
        while node.parent_evotor_id in groups:
            node, depth = groups[node.parent_evotor_id], depth + 1
        depths.append(depth)
    assert max(depths) == 2

    sample = sandbox.products(store_ids[SHOP])[0]
    product = CachedProduct.objects.get(user=owner, evotor_id=sample["id"])
    assert product.store == shop
    assert product.name == sample["name"]
    assert product.price == Decimal(sample["price"])
    assert product.cost_price == Decimal(sample["cost_price"])
    assert product.quantity == Decimal(sample["quantity"])
    assert product.measure_name == sample["measure_name"]
    assert product.allow_to_sell is sample["allow_to_sell"]
    assert product.tax == sample["tax"]
    assert product.type == sample["type"]
    assert product.code == sample["code"]
    assert product.barcodes == sample["barcodes"]
    assert product.parent_evotor_id == sample["parent_id"]
    assert product.evotor_updated_at is not None
    assert product.raw["id"] == sample["id"]
    assert len(product.content_hash) == 64
    assert not product.is_removed
    assert product.first_seen_at == product.last_seen_at

    run = CatalogRefresh.objects.get(user=owner)
    assert run.status == RefreshStatus.OK
    assert (run.stores, run.stores_skipped) == (2, 1)
    assert run.products == result.products == run.products_written
    assert run.finished_at is not None


def test_store_answering_402_is_skipped_quietly_while_the_others_refresh(
    owner, evotor_connection, sandbox
):
    locked_id = sandbox.store_ids()[LOCKED]

    result = catalog_refresh_for_user(user=owner)

    assert result.ok and result.error == ""
    assert result.stores_skipped == 1
    assert result.skipped_store_ids == [locked_id]
    locked = CachedStore.objects.get(user=owner, evotor_id=locked_id)
    assert not locked.is_accessible
    assert not CachedProduct.objects.filter(store=locked).exists()
    assert CachedProduct.objects.filter(user=owner).exclude(store=locked).count() > 400


def test_a_store_that_turns_402_keeps_its_cached_rows(owner, refreshed, sandbox):
    cafe_id = sandbox.store_ids()[CAFE]
    before = CachedProduct.objects.filter(user=owner, store_evotor_id=cafe_id).count()
    sandbox.set_store_status(cafe_id, 403)

    result = catalog_refresh_for_user(user=owner)

    assert result.ok
    assert cafe_id in result.skipped_store_ids
    kept = CachedProduct.objects.filter(user=owner, store_evotor_id=cafe_id)
    assert kept.count() == before
    assert not kept.filter(is_removed=True).exists()


def test_refresh_marks_products_removed_at_the_till_and_keeps_them(owner, refreshed, sandbox):
    sid = sandbox.store_ids()[SHOP]
    gone = sandbox.products(sid)[3]
    sandbox.remove_product(sid, gone["id"])

    result = catalog_refresh_for_user(user=owner)

    assert result.products_removed == 1
    row = CachedProduct.objects.get(user=owner, evotor_id=gone["id"])
    assert row.is_removed and row.removed_at is not None
    assert CachedProduct.objects.filter(user=owner, is_removed=True).count() == 1


def test_a_product_that_reappears_is_no_longer_removed(owner, refreshed, sandbox):
    sid = sandbox.store_ids()[SHOP]
    gone = sandbox.products(sid)[3]
    sandbox.remove_product(sid, gone["id"])
    catalog_refresh_for_user(user=owner)
    sandbox.add_product(sid, name=gone["name"], price=gone["price"], product_id=gone["id"])

    result = catalog_refresh_for_user(user=owner)

    assert result.products_written == 1
    row = CachedProduct.objects.get(user=owner, evotor_id=gone["id"])
    assert not row.is_removed and row.removed_at is None


def test_groups_removed_in_evotor_are_marked_removed(owner, refreshed, sandbox):
    sid = sandbox.store_ids()[CAFE]
    group = sandbox.groups(sid)[0]
    sandbox.remove_group(sid, group["id"])

    catalog_refresh_for_user(user=owner)

    assert CachedGroup.objects.get(user=owner, evotor_id=group["id"]).is_removed


def test_refresh_with_nothing_changed_writes_no_product_rows(owner, refreshed, sandbox):
    with CaptureQueriesContext(connection) as queries:
        result = catalog_refresh_for_user(user=owner)

    assert result.ok and result.products > 400
    assert result.products_written == result.products_removed == 0
    assert writes(queries, "catalog_cachedproduct") == []
    assert writes(queries, "catalog_cachedgroup") == []
    # The store rows only get their "read completely at" stamp.
    assert all("catalog_refreshed_at" in sql for sql in writes(queries, "catalog_cachedstore"))


def test_refresh_after_a_change_at_the_till_writes_only_that_product(owner, refreshed, sandbox):
    sid = sandbox.store_ids()[SHOP]
    changed = sandbox.products(sid)[10]
    sandbox.set_product(sid, changed["id"], price="123.45", quantity=None, barcodes=["111", "222"])

    with CaptureQueriesContext(connection) as queries:
        result = catalog_refresh_for_user(user=owner)

    assert result.products_written == 1
    assert len(writes(queries, "catalog_cachedproduct")) == 1
    row = CachedProduct.objects.get(user=owner, evotor_id=changed["id"])
    assert row.price == Decimal("123.45")
    assert row.quantity is None
    assert row.barcodes == ["111", "222"]
    assert "222" in row.search_text
    assert row.last_seen_at > row.first_seen_at


def test_refresh_queries_do_not_grow_with_the_catalog(owner, evotor_connection, sandbox):
    """No query per product: the same count for 200 and 900 products (one Evotor page each)."""

    def no_change_refresh_queries(products: int) -> int:
        sandbox.generate(products=products, stores=1)
        catalog_refresh_for_user(user=owner)
        with CaptureQueriesContext(connection) as queries:
            assert catalog_refresh_for_user(user=owner).products == products
        return len(queries)

    assert no_change_refresh_queries(200) == no_change_refresh_queries(900)


def test_first_refresh_writes_products_in_batches_not_one_by_one(owner, evotor_connection, sandbox):
    sandbox.generate(products=900, stores=1)

    with CaptureQueriesContext(connection) as queries:
        catalog_refresh_for_user(user=owner)

    inserts = writes(queries, "catalog_cachedproduct")
    batch = connection.ops.bulk_batch_size(["f"] * 25, [None] * 900)  # SQLite: 999 parameters
    assert 1 <= len(inserts) <= -(-900 // max(batch, 1))


def test_401_marks_the_connection_broken_with_a_russian_message_and_writes_nothing(
    owner, evotor_connection, sandbox
):
    sandbox.fail("401")

    result = catalog_refresh_for_user(user=owner)

    assert result.status == RefreshStatus.FAILED
    evotor_connection.refresh_from_db()
    assert evotor_connection.state == ConnectionState.BROKEN
    assert "Эвотор" in evotor_connection.last_error
    assert evotor_connection.last_error == result.error
    assert not CachedStore.objects.exists()
    assert not CachedProduct.objects.exists()
    run = CatalogRefresh.objects.get(user=owner)
    assert run.status == RefreshStatus.FAILED and run.error == result.error


def test_evotor_outage_fails_the_run_cleanly_and_leaves_the_cache_intact(owner, refreshed, sandbox):
    sid = sandbox.store_ids()[SHOP]
    gone = sandbox.products(sid)[0]
    sandbox.remove_product(sid, gone["id"])
    before = CachedProduct.objects.filter(user=owner).count()
    sandbox.fail("500", path=f"/stores/{sid}/products")

    result = catalog_refresh_for_user(user=owner)

    assert result.status == RefreshStatus.FAILED
    assert "Эвотор" in result.error
    assert CachedProduct.objects.filter(user=owner).count() == before
    assert not CachedProduct.objects.filter(is_removed=True).exists()
    assert CatalogRefresh.objects.filter(status=RefreshStatus.FAILED).count() == 1
    # The connection itself is fine: an outage is not a broken token.
    assert CatalogRefresh.objects.get(pk=result.refresh_id).error == result.error


def test_an_outage_in_the_middle_of_the_list_removes_nothing(owner, evotor_connection, sandbox):
    """Pages already read stay written; the removal pass never runs on a partial list."""
    (sid,) = sandbox.generate(products=2500, stores=1)
    assert catalog_refresh_for_user(user=owner).ok
    sandbox.remove_product(sid, sandbox.products(sid)[-1]["id"])

    def fail_after_first_page(event):
        if event.stage == "products":
            sandbox.fail("500", path=f"/stores/{sid}/products")

    result = catalog_refresh_for_user(user=owner, progress=fail_after_first_page)

    assert result.status == RefreshStatus.FAILED
    assert not CachedProduct.objects.filter(is_removed=True).exists()
    assert CachedProduct.objects.filter(user=owner).count() == 2500


def test_refresh_is_skipped_while_another_one_holds_the_lock(owner, evotor_connection, sandbox):
    cache.add(lock_key(owner.pk), "other-worker", 60)
    sandbox.reset_counters()
    try:
        result = catalog_refresh_for_user(user=owner)
    finally:
        cache.delete(lock_key(owner.pk))

    assert result.status == "skipped"
    assert sandbox.requests_count == 0
    assert not CatalogRefresh.objects.exists()
    assert not CachedProduct.objects.exists()


def test_the_lock_is_released_after_a_failed_run(owner, evotor_connection, sandbox):
    sandbox.fail("500")
    assert catalog_refresh_for_user(user=owner).status == RefreshStatus.FAILED
    sandbox.clear_failures()

    assert catalog_refresh_for_user(user=owner).ok
    assert cache.get(lock_key(owner.pk)) is None


def test_without_a_usable_connection_the_run_fails_with_a_sentence(owner):
    result = catalog_refresh_for_user(user=owner)

    assert result.status == RefreshStatus.FAILED
    assert "Эвотор" in result.error


def test_success_sends_catalog_refreshed_and_failure_does_not(owner, evotor_connection, sandbox):
    received = []

    def receiver(sender, user, result, **kwargs):
        received.append((user, result.status))

    catalog_refreshed.connect(receiver)
    try:
        catalog_refresh_for_user(user=owner)
        sandbox.fail("500")
        catalog_refresh_for_user(user=owner)
    finally:
        catalog_refreshed.disconnect(receiver)

    assert received == [(owner, RefreshStatus.OK)]


def test_a_failing_receiver_does_not_fail_the_refresh(owner, evotor_connection, sandbox):
    def broken(**kwargs):
        raise RuntimeError("publishing bug")

    catalog_refreshed.connect(broken)
    try:
        result = catalog_refresh_for_user(user=owner)
    finally:
        catalog_refreshed.disconnect(broken)

    assert result.ok
    assert CatalogRefresh.objects.get().status == RefreshStatus.OK


def test_a_store_gone_from_evotor_is_marked_removed_with_its_catalog(owner, refreshed, sandbox):
    old_ids = sandbox.store_ids()
    sandbox.generate(products=5, stores=1)

    catalog_refresh_for_user(user=owner)

    for old in CachedStore.objects.filter(user=owner, evotor_id__in=old_ids):
        assert old.is_removed
        assert not CachedProduct.objects.filter(store=old, is_removed=False).exists()
        assert not CachedGroup.objects.filter(store=old, is_removed=False).exists()


def test_a_queued_request_becomes_the_running_row(owner, evotor_connection, sandbox):
    run, created = catalog_refresh_request(user=owner)
    again, created_again = catalog_refresh_request(user=owner)
    assert created and not created_again and again == run

    catalog_refresh_for_user(user=owner)

    run.refresh_from_db()
    assert run.status == RefreshStatus.OK and run.trigger == "manual"
    assert CatalogRefresh.objects.count() == 1


def test_a_run_left_running_by_a_dead_worker_is_marked_interrupted(
    owner, evotor_connection, sandbox
):
    long_ago = timezone.now() - timedelta(hours=2)
    dead = CatalogRefresh.objects.create(
        user=owner, status=RefreshStatus.RUNNING, requested_at=long_ago, started_at=long_ago
    )

    catalog_refresh_for_user(user=owner)

    dead.refresh_from_db()
    assert dead.status == RefreshStatus.FAILED
    assert dead.error


def test_users_catalogs_are_kept_apart(owner, other_merchant, evotor_connection, sandbox):
    connect_evotor(other_merchant)

    catalog_refresh_for_user(user=owner)
    catalog_refresh_for_user(user=other_merchant)

    mine = CachedProduct.objects.filter(user=owner).count()
    assert mine == CachedProduct.objects.filter(user=other_merchant).count() > 0


def test_the_history_keeps_the_latest_runs_only(owner, evotor_connection, sandbox):
    from catalog.services import KEEP_REFRESHES

    now = timezone.now()
    CatalogRefresh.objects.bulk_create(
        CatalogRefresh(user=owner, status=RefreshStatus.OK, requested_at=now, finished_at=now)
        for _ in range(KEEP_REFRESHES + 5)
    )

    result = catalog_refresh_for_user(user=owner)

    kept = CatalogRefresh.objects.filter(user=owner)
    assert kept.count() == KEEP_REFRESHES
    assert kept.filter(pk=result.refresh_id).exists()
