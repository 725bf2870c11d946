"""The fan-out task, the per-merchant task, the command and the cache deletion."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from connections.models import ConnectionState, VkConnection
from connections.vk_services import vk_connection_disconnect
from tests.conftest import make_user
from tests.vk_catalog.conftest import DEMO_GROUP, make_album, make_products
from vk_catalog.models import RefreshStatus, VkCachedAlbum, VkCachedProduct, VkCatalogRefresh
from vk_catalog.services import (
    vk_catalog_delete_for_user,
    vk_catalog_enqueue_refresh,
    vk_catalog_refresh_for_user,
)
from vk_catalog.tasks import refresh_vk_catalog_all, refresh_vk_catalog_for_user

pytestmark = pytest.mark.django_db

OTHER_TOKEN = "vk-other-merchant-token"


@pytest.fixture
def two_merchants(owner, other_merchant, vk_connection, fast_vk):
    """The owner with a working token; the other merchant with one VK has since revoked."""
    fast_vk.generate_items(DEMO_GROUP, 5)
    fast_vk.add_token(OTHER_TOKEN, user_id=1001)
    fast_vk.revoke_token(OTHER_TOKEN)
    VkConnection.objects.create(user=other_merchant, access_token=OTHER_TOKEN, group_id=DEMO_GROUP)
    return owner, other_merchant


def test_fan_out_queues_one_refresh_per_usable_connection_and_isolates_failures(
    two_merchants, django_capture_on_commit_callbacks
):
    owner, other = two_merchants
    broken = make_user("broken@example.ru")
    VkConnection.objects.create(
        user=broken, access_token="x", group_id=DEMO_GROUP, state=ConnectionState.BROKEN
    )
    no_group = make_user("nogroup@example.ru")
    VkConnection.objects.create(user=no_group, access_token="vk-demo-token")

    with django_capture_on_commit_callbacks(execute=True):
        queued = refresh_vk_catalog_all()

    assert queued == 2
    assert VkCatalogRefresh.objects.get(user=owner).status == RefreshStatus.OK
    failed = VkCatalogRefresh.objects.get(user=other)
    assert failed.status == RefreshStatus.FAILED and failed.error_code == 5
    assert VkCachedProduct.objects.filter(user=owner).count() == 5
    assert not VkCachedProduct.objects.filter(user=other).exists()
    assert not VkCatalogRefresh.objects.filter(user__in=[broken, no_group]).exists()


def test_fan_out_leaves_a_merchant_whose_refresh_is_pending_alone(
    owner, vk_connection, django_capture_on_commit_callbacks
):
    VkCatalogRefresh.objects.create(user=owner, status=RefreshStatus.QUEUED)

    with django_capture_on_commit_callbacks() as callbacks:
        assert refresh_vk_catalog_all() == 0

    assert callbacks == []
    assert VkCatalogRefresh.objects.filter(user=owner).count() == 1


def test_a_queued_run_the_queue_lost_is_replaced(owner, vk_connection, settings):
    lost = VkCatalogRefresh.objects.create(
        user=owner,
        status=RefreshStatus.QUEUED,
        requested_at=timezone.now() - timedelta(seconds=settings.Q_CLUSTER["retry"] + 60),
    )

    run, queued_now = vk_catalog_enqueue_refresh(user=owner)

    assert queued_now and run.pk != lost.pk
    lost.refresh_from_db()
    assert lost.status == RefreshStatus.FAILED and lost.error


def test_task_for_a_merchant_refreshes_and_is_safe_to_repeat(owner, vk_connection, fast_vk):
    fast_vk.generate_items(DEMO_GROUP, 3)
    assert refresh_vk_catalog_for_user(owner.pk) == RefreshStatus.OK
    assert refresh_vk_catalog_for_user(owner.pk) == RefreshStatus.OK
    assert VkCachedProduct.objects.filter(user=owner).count() == 3


def test_task_for_a_merchant_without_vk_closes_the_queued_run(owner):
    queued = VkCatalogRefresh.objects.create(user=owner, status=RefreshStatus.QUEUED)
    assert refresh_vk_catalog_for_user(owner.pk) == "skipped"
    queued.refresh_from_db()
    assert queued.status == RefreshStatus.FAILED and "VK" in queued.error
    assert refresh_vk_catalog_for_user(10**9) == "no-user"


def test_command_refreshes_one_merchant_with_progress(owner, vk_connection, fast_vk):
    fast_vk.generate_items(DEMO_GROUP, 1200, albums=2)
    out = StringIO()

    call_command("refresh_vk_catalog", "--user", owner.email.upper(), stdout=out)

    output = out.getvalue()
    assert "прочитано подборок: 2" in output
    assert "прочитано товаров: 1000" in output and "прочитано товаров: 1200" in output
    assert "товаров — 1200" in output and "запросов к VK — 3" in output
    run = VkCatalogRefresh.objects.get(user=owner)
    assert run.trigger == "command" and run.status == RefreshStatus.OK


def test_command_for_everyone_reports_the_failures_and_refreshes_the_rest(two_merchants):
    owner, other = two_merchants
    out, err = StringIO(), StringIO()

    with pytest.raises(CommandError, match=other.email):
        call_command("refresh_vk_catalog", stdout=out, stderr=err)

    assert "1 из 2" in out.getvalue()
    assert other.email in err.getvalue()
    assert VkCachedProduct.objects.filter(user=owner).count() == 5


def test_command_for_one_merchant_fails_when_vk_refuses(owner, vk_connection, fast_vk):
    fast_vk.set_market_enabled(DEMO_GROUP, False)
    with pytest.raises(CommandError, match=owner.email):
        call_command(
            "refresh_vk_catalog", "--user", owner.email, stdout=StringIO(), stderr=StringIO()
        )


def test_deleting_a_merchants_cache_leaves_everyone_elses(owner, other_merchant, vk_connection):
    for user in (owner, other_merchant):
        album = make_album(user, 1)
        make_products(user, 3, album=album)
        VkCatalogRefresh.objects.create(user=user, status=RefreshStatus.OK)

    assert vk_catalog_delete_for_user(user=owner) >= 3

    assert not VkCachedProduct.objects.filter(user=owner).exists()
    assert not VkCachedAlbum.objects.filter(user=owner).exists()
    assert not VkCatalogRefresh.objects.filter(user=owner).exists()
    assert VkCachedProduct.objects.filter(user=other_merchant).count() == 3
    assert VkCachedAlbum.objects.filter(user=other_merchant).count() == 1


def test_disconnecting_vk_during_a_refresh_saves_nothing(owner, vk_connection, fast_vk):
    fast_vk.generate_items(DEMO_GROUP, 10, albums=1)

    def disconnect_while_reading(stage, count):
        if stage == "albums":
            vk_connection_disconnect(user=owner)

    run = vk_catalog_refresh_for_user(user=owner, progress=disconnect_while_reading)

    assert run.status == RefreshStatus.FAILED
    assert not VkCachedProduct.objects.exists() and not VkCachedAlbum.objects.exists()
    assert not VkCatalogRefresh.objects.exists()
