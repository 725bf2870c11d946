"""After each Evotor refresh, the changes reach VK by themselves (once the first publish is done)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.utils import timezone

from catalog.models import CatalogRefresh
from catalog.signals import catalog_refreshed
from sync.models import Alert, AlertCause, RunStatus, RunTrigger, SyncRun
from sync.plan.inputs import sync_settings_get
from sync.signals import publish_after_evotor_refresh

pytestmark = pytest.mark.django_db

CHANGED = SimpleNamespace(
    products_written=1, products_removed=0, groups_written=0, groups_removed=0
)
UNCHANGED = SimpleNamespace(
    products_written=0, products_removed=0, groups_written=0, groups_removed=0
)


def published(user, *, auto_sync=True):
    settings_obj = sync_settings_get(user)
    settings_obj.first_published_at = timezone.now()
    settings_obj.vk_category_id = 40099  # a first publish needs one
    settings_obj.auto_sync = auto_sync
    settings_obj.save()


def test_the_receiver_is_connected_to_the_catalog_signal():
    receivers = [r[1]() for r in catalog_refreshed.receivers]
    assert publish_after_evotor_refresh in receivers


def test_a_price_changed_at_the_till_reaches_vk_after_the_refresh(
    shop, django_capture_on_commit_callbacks
):
    first = shop.sync()
    assert first.status == RunStatus.SUCCEEDED
    shop.evotor.set_product(shop.store_id, shop.products["coffee"], price=399)
    with django_capture_on_commit_callbacks(execute=True):
        shop.refresh()
    run = SyncRun.objects.filter(user=shop.user).first()
    assert run.pk != first.pk
    assert run.trigger == RunTrigger.EVOTOR_CHANGE
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.updated == 1
    coffee = next(item for item in shop.vk_items() if item["title"].startswith("Кофе"))
    assert coffee["price"]["amount"] == "39900"


def test_before_the_first_publish_a_refresh_publishes_nothing(
    shop, django_capture_on_commit_callbacks
):
    shop.evotor.set_product(shop.store_id, shop.products["coffee"], price=399)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        shop.refresh()
    assert not SyncRun.objects.exists()
    assert shop.vk_items() == []
    assert callbacks == []


def test_with_automatic_publishing_off_a_refresh_publishes_nothing(
    owner, django_capture_on_commit_callbacks
):
    published(owner, auto_sync=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queued = publish_after_evotor_refresh(CatalogRefresh, user=owner, result=CHANGED)
    assert queued is False
    assert callbacks == []


def test_a_refresh_that_changed_nothing_queues_nothing(owner, django_capture_on_commit_callbacks):
    published(owner)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queued = publish_after_evotor_refresh(CatalogRefresh, user=owner, result=UNCHANGED)
    assert queued is False
    assert callbacks == []


def test_the_sync_is_queued_only_after_the_refresh_commits(
    owner, django_capture_on_commit_callbacks
):
    published(owner)
    with mock_async_task() as calls:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert publish_after_evotor_refresh(CatalogRefresh, user=owner, result=CHANGED)
        assert calls == []
        # The run starts at commit, and its task is sent once that start commits.
        with django_capture_on_commit_callbacks(execute=True):
            callbacks[0]()
    run = SyncRun.objects.get(user=owner)
    assert calls == [("sync.tasks.sync_user", owner.pk, RunTrigger.EVOTOR_CHANGE, run.pk)]


def test_a_successful_refresh_resolves_an_evotor_token_alert(owner):
    Alert.objects.create(user=owner, cause=AlertCause.EVOTOR_TOKEN_REVOKED, message="401")
    publish_after_evotor_refresh(CatalogRefresh, user=owner, result=UNCHANGED)
    assert not Alert.objects.filter(resolved_at__isnull=True).exists()


class mock_async_task:
    """Records `async_task` calls instead of running them."""

    def __enter__(self):
        from unittest import mock

        self.calls = []
        self._patch = mock.patch(
            "django_q.tasks.async_task",
            side_effect=lambda func, *args, **kwargs: self.calls.append((func, *args)),
        )
        self._patch.start()
        return self.calls

    def __exit__(self, *exc):
        self._patch.stop()
