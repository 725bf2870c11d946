"""The refresh service against the VK sandbox over real HTTP on loopback."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from connections import vk_errors
from connections.models import ConnectionState, VkConnection
from connections.vk_client import VkClient
from tests.vk_catalog.conftest import DEMO_GROUP, DEMO_TOKEN
from vk_catalog.locking import user_refresh_lock
from vk_catalog.models import (
    RefreshStatus,
    VkCachedAlbum,
    VkCachedProduct,
    VkCachedProductAlbum,
    VkCatalogRefresh,
)
from vk_catalog.services import VkCatalogBusy, vk_catalog_refresh_for_user

pytestmark = pytest.mark.django_db

OWNER_ID = -DEMO_GROUP
CACHE_TABLES = (
    "vk_catalog_vkcachedalbum",
    "vk_catalog_vkcachedproduct",
    "vk_catalog_vkcachedproductalbum",
)


def _requests(sandbox, token: str = DEMO_TOKEN) -> int:
    return len(sandbox.requests_by_token.get(token, []))


def _vk(method: str, **params):
    """A change made in VK itself (by the merchant, outside EvoSync)."""
    return VkClient(DEMO_TOKEN).call(method, **params)


def _writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")
        and any(table in q["sql"] for table in CACHE_TABLES)
    ]


def test_refresh_copies_albums_and_items_with_every_field(owner, vk_connection, fast_vk):
    shoes = fast_vk.add_album(DEMO_GROUP, "Обувь", is_main=True)
    fast_vk.add_album(DEMO_GROUP, "Архив", is_hidden=True)
    ked = fast_vk.add_item(
        DEMO_GROUP,
        title="Кеды красные",
        description="Кеды из хлопка, размеры 36–45.",
        price=Decimal("1990.50"),
        old_price=2490,
        sku="KED-1",
        category_id=40099,
        album_ids=[shoes["id"]],
        with_photo=True,
    )
    fast_vk.add_item(DEMO_GROUP, title="Шапка зимняя", price=700, availability=2)

    run = vk_catalog_refresh_for_user(user=owner)

    assert run.status == RefreshStatus.OK and run.error == ""
    assert (run.albums_seen, run.items_seen, run.created_count) == (2, 2, 2)
    assert run.owner_id == OWNER_ID and run.trigger == "schedule"
    assert run.started_at and run.finished_at

    album = VkCachedAlbum.objects.get(user=owner, vk_id=shoes["id"])
    assert album.title == "Обувь" and album.owner_id == OWNER_ID
    assert album.item_count == 1 and album.is_main and not album.is_hidden
    assert album.updated_time is not None and album.raw["title"] == "Обувь"
    assert VkCachedAlbum.objects.get(user=owner, title="Архив").is_hidden

    item = VkCachedProduct.objects.get(user=owner, vk_id=ked["id"])
    assert item.title == "Кеды красные"
    assert item.description == "Кеды из хлопка, размеры 36–45."
    assert item.price == Decimal("1990.50") and item.old_price == Decimal("2490.00")
    assert item.availability == 0 and item.sku == "KED-1"
    assert item.album_ids == [shoes["id"]]
    assert list(item.albums.all()) == [album]
    assert item.main_photo_id == ked["photos"][0]["id"] and item.photo_ids == [item.main_photo_id]
    assert item.thumb_url == ked["thumb_photo"]
    assert item.category_id == 40099 and item.date is not None
    assert item.raw["id"] == ked["id"] and item.owner_id == OWNER_ID
    assert not item.is_removed

    hat = VkCachedProduct.objects.get(user=owner, title="Шапка зимняя")
    assert hat.availability == 2 and hat.old_price is None and hat.album_ids == []


def test_refresh_reads_past_the_first_page_of_200(owner, vk_connection, fast_vk):
    fast_vk.generate_items(DEMO_GROUP, 450, albums=3)

    run = vk_catalog_refresh_for_user(user=owner)

    assert run.status == RefreshStatus.OK
    assert VkCachedProduct.objects.filter(user=owner, is_removed=False).count() == 450
    assert set(VkCachedProduct.objects.values_list("sku", flat=True)) == {
        f"SKU-{n:06d}" for n in range(1, 451)
    }
    for album in VkCachedAlbum.objects.filter(user=owner):
        assert album.item_count == 150
        assert VkCachedProductAlbum.objects.filter(album=album).count() == 150
    # getAlbums, the first market.get, then pages 2-3 together in one execute.
    assert fast_vk.calls_by_method["market.get"] == 3
    assert run.requests_made == _requests(fast_vk) == 3


def test_a_catalog_of_1000_items_costs_three_requests(owner, vk_connection, fast_vk):
    fast_vk.generate_items(DEMO_GROUP, 1000)

    run = vk_catalog_refresh_for_user(user=owner)

    # 1 market.getAlbums + 1 market.get (learns the total) + 1 execute with pages 2..5.
    assert run.items_seen == 1000
    assert run.requests_made == _requests(fast_vk) == 3
    assert fast_vk.requests_by_method == {"market.getAlbums": 1, "market.get": 1, "execute": 1}


def test_items_and_albums_gone_from_vk_are_marked_removed(owner, vk_connection, fast_vk):
    album = fast_vk.add_album(DEMO_GROUP, "Сезонное")
    kept = fast_vk.add_item(DEMO_GROUP, title="Остаётся", album_ids=[album["id"]])
    gone = fast_vk.add_item(DEMO_GROUP, title="Уходит", album_ids=[album["id"]])
    vk_catalog_refresh_for_user(user=owner)

    _vk("market.delete", owner_id=OWNER_ID, item_id=gone["id"])
    _vk("market.deleteAlbum", owner_id=OWNER_ID, album_id=album["id"])
    run = vk_catalog_refresh_for_user(user=owner)

    assert run.removed_count == 1
    removed = VkCachedProduct.objects.get(user=owner, vk_id=gone["id"])
    assert removed.is_removed and removed.removed_at is not None
    assert not VkCachedProduct.objects.get(user=owner, vk_id=kept["id"]).is_removed
    cached_album = VkCachedAlbum.objects.get(user=owner, vk_id=album["id"])
    assert cached_album.is_removed and cached_album.removed_at is not None
    assert not VkCachedProductAlbum.objects.filter(album=cached_album).exists()

    # Restored in VK: it comes back.
    _vk("market.restore", owner_id=OWNER_ID, item_id=gone["id"])
    vk_catalog_refresh_for_user(user=owner)
    back = VkCachedProduct.objects.get(user=owner, vk_id=gone["id"])
    assert not back.is_removed and back.removed_at is None


def test_a_refresh_with_nothing_changed_writes_no_rows(owner, vk_connection, fast_vk):
    fast_vk.generate_items(DEMO_GROUP, 250, albums=2)
    vk_catalog_refresh_for_user(user=owner)
    before = dict(VkCachedProduct.objects.values_list("pk", "updated_at"))

    with CaptureQueriesContext(db_connection) as queries:
        run = vk_catalog_refresh_for_user(user=owner)

    assert run.status == RefreshStatus.OK and run.items_seen == 250
    assert (run.created_count, run.updated_count, run.removed_count) == (0, 0, 0)
    assert _writes(queries.captured_queries) == []
    assert dict(VkCachedProduct.objects.values_list("pk", "updated_at")) == before


def test_a_changed_item_is_the_only_row_rewritten(owner, vk_connection, fast_vk):
    fast_vk.generate_items(DEMO_GROUP, 30)
    vk_catalog_refresh_for_user(user=owner)
    target = VkCachedProduct.objects.get(user=owner, sku="SKU-000007")
    untouched = VkCachedProduct.objects.get(user=owner, sku="SKU-000008")

    _vk("market.edit", owner_id=OWNER_ID, item_id=target.vk_id, price=555)
    run = vk_catalog_refresh_for_user(user=owner)

    assert (run.created_count, run.updated_count, run.removed_count) == (0, 1, 0)
    target.refresh_from_db()
    assert target.price == Decimal("555.00")
    assert VkCachedProduct.objects.get(pk=untouched.pk).updated_at == untouched.updated_at


def test_revoked_token_marks_the_connection_broken(owner, vk_connection, fast_vk):
    fast_vk.add_item(DEMO_GROUP, title="Кеды")
    vk_catalog_refresh_for_user(user=owner)
    fast_vk.revoke_token(DEMO_TOKEN)

    run = vk_catalog_refresh_for_user(user=owner)

    assert run.status == RefreshStatus.FAILED and run.error_code == 5
    assert run.error == vk_errors.VkAuthError(5).user_message
    vk_connection.refresh_from_db()
    assert vk_connection.state == ConnectionState.BROKEN
    assert vk_connection.last_error == run.error
    # What was read before stays.
    assert VkCachedProduct.objects.filter(user=owner, is_removed=False).count() == 1


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        (lambda sandbox: sandbox.fail(14, count=1), vk_errors.VkCaptchaError(14)),
        (
            lambda sandbox: sandbox.set_market_enabled(DEMO_GROUP, False),
            vk_errors.VkMarketDisabledError(1438),
        ),
    ],
    ids=["captcha", "market-off"],
)
def test_captcha_and_market_off_stop_the_refresh_with_the_reason(
    owner, vk_connection, fast_vk, setup, error
):
    setup(fast_vk)

    run = vk_catalog_refresh_for_user(user=owner)

    assert run.status == RefreshStatus.FAILED and run.error_code == error.code
    assert run.error == error.user_message
    vk_connection.refresh_from_db()
    assert vk_connection.state == ConnectionState.OK
    assert not VkCachedProduct.objects.exists() and not VkCachedAlbum.objects.exists()


def test_a_community_token_is_refused_with_a_permission_error(owner, fast_vk):
    VkConnection.objects.create(user=owner, access_token="vk-demo-group-token", group_id=DEMO_GROUP)

    run = vk_catalog_refresh_for_user(user=owner)

    assert run.status == RefreshStatus.FAILED and run.error_code == 27
    assert run.error == vk_errors.VkPermissionError(27).user_message


def test_vk_failing_half_way_leaves_the_previous_cache_intact(owner, vk_connection, fast_vk):
    fast_vk.generate_items(DEMO_GROUP, 450)
    vk_catalog_refresh_for_user(user=owner)
    snapshot = list(
        VkCachedProduct.objects.order_by("pk").values("pk", "price", "is_removed", "updated_at")
    )
    first = VkCachedProduct.objects.order_by("-vk_id").first()
    _vk("market.edit", owner_id=OWNER_ID, item_id=first.vk_id, price=1)
    _vk("market.delete", owner_id=OWNER_ID, item_id=first.vk_id - 1)
    fast_vk.add_item(DEMO_GROUP, title="Новинка")
    # The first page and the albums come through; every later page fails with error 10.
    fast_vk.fail(10, method="execute")

    run = vk_catalog_refresh_for_user(user=owner)

    assert run.status == RefreshStatus.FAILED and run.error_code == 10
    assert run.error == vk_errors.VkUnavailableError(10).user_message
    assert (
        list(
            VkCachedProduct.objects.order_by("pk").values("pk", "price", "is_removed", "updated_at")
        )
        == snapshot
    )
    assert not VkCachedProduct.objects.filter(title="Новинка").exists()
    # The page still says when the catalog was last read successfully.
    assert VkCatalogRefresh.objects.filter(user=owner, status=RefreshStatus.OK).count() == 1


def test_two_refreshes_of_one_merchant_never_overlap(owner, vk_connection, fast_vk):
    with user_refresh_lock(owner.pk) as acquired:
        assert acquired
        with pytest.raises(VkCatalogBusy):
            vk_catalog_refresh_for_user(user=owner)
    assert _requests(fast_vk) == 0
    assert not VkCatalogRefresh.objects.exists()
    # Released: the next one runs.
    assert vk_catalog_refresh_for_user(user=owner).status == RefreshStatus.OK


def test_a_refresh_takes_over_the_queued_run_and_finishes_a_dead_one(owner, vk_connection, fast_vk):
    dead = VkCatalogRefresh.objects.create(user=owner, status=RefreshStatus.RUNNING)
    queued = VkCatalogRefresh.objects.create(
        user=owner, status=RefreshStatus.QUEUED, trigger="manual"
    )

    run = vk_catalog_refresh_for_user(user=owner)

    assert run.pk == queued.pk and run.trigger == "manual" and run.status == RefreshStatus.OK
    dead.refresh_from_db()
    assert dead.status == RefreshStatus.FAILED and dead.error
