"""Every publishing page: the owner sees it, another merchant gets a 404, a visitor logs in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import CachedProduct, CachedStore
from sync.models import (
    Alert,
    AlertCause,
    ProductPhoto,
    RunItemStatus,
    RunStatus,
    SyncRun,
    SyncRunItem,
)
from tests.sync_ui.conftest import make_run, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(owner):
    now = timezone.now()
    store = CachedStore.objects.create(
        user=owner, evotor_id="store-1", name="Лавка", first_seen_at=now, last_seen_at=now
    )
    return CachedProduct.objects.create(
        user=owner,
        store=store,
        store_evotor_id="store-1",
        evotor_id="prod-1",
        name="Чай чёрный",
        price=100,
        content_hash="x",
        first_seen_at=now,
        last_seen_at=now,
    )


@pytest.fixture
def photo(owner, product, media):
    return ProductPhoto.objects.create(
        user=owner,
        store_id="store-1",
        entity_type="product",
        entity_id="prod-1",
        image=upload("tea.png"),
    )


@pytest.fixture
def held_run(owner):
    return make_run(
        owner,
        status=RunStatus.HELD,
        stop_cause="removal_guard",
        plan_summary={"removals": 4, "published": 5, "hide": 4, "delete": 0, "guard_percent": 20},
        finished_at=timezone.now(),
    )


def owned_pages(owner_run, held_run, photo):
    return [
        reverse("sync:dashboard"),
        reverse("sync:preview"),
        reverse("sync:settings"),
        reverse("sync:runs"),
        reverse("sync:run_detail", args=[owner_run.pk]),
        reverse("sync:run_progress", args=[owner_run.pk]),
        reverse("sync:run_confirm", args=[held_run.pk]),
        reverse("sync:photo_upload", args=["store-1", "product", "prod-1"]),
        reverse("sync:photo_image", args=[photo.pk]),
    ]


def test_owner_opens_every_publishing_page(client, owner, owner_run, held_run, photo):
    client.force_login(owner)
    for url in owned_pages(owner_run, held_run, photo):
        response = client.get(url)
        assert response.status_code == 200, url


def test_anonymous_visitor_is_sent_to_log_in(client, owner_run, held_run, photo):
    login = reverse("accounts:login")
    for url in owned_pages(owner_run, held_run, photo):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(login), url
    response = client.post(reverse("sync:sync_now"))
    assert response["Location"].startswith(login)


def test_another_merchant_gets_404_for_the_owners_runs_and_photos(
    client, other_merchant, owner_run, held_run, photo
):
    client.force_login(other_merchant)
    for url in [
        reverse("sync:run_detail", args=[owner_run.pk]),
        reverse("sync:run_progress", args=[owner_run.pk]),
        reverse("sync:run_confirm", args=[held_run.pk]),
        reverse("sync:photo_upload", args=["store-1", "product", "prod-1"]),
        reverse("sync:photo_image", args=[photo.pk]),
    ]:
        assert client.get(url).status_code == 404, url


def test_another_merchant_cannot_retry_confirm_or_cancel_the_owners_runs(
    client, owner, other_merchant, held_run, photo
):
    failed_run = make_run(owner, status=RunStatus.PARTIAL, failed=1)
    alert = Alert.objects.create(user=owner, cause=AlertCause.CAPTCHA, message="captcha")
    client.force_login(other_merchant)
    for url in [
        reverse("sync:run_retry", args=[failed_run.pk]),
        reverse("sync:run_confirm", args=[held_run.pk]),
        reverse("sync:run_cancel", args=[held_run.pk]),
        reverse("sync:alert_dismiss", args=[alert.pk]),
        reverse("sync:photo_delete", args=[photo.pk]),
    ]:
        assert client.post(url).status_code == 404, url
    held_run.refresh_from_db()
    assert held_run.status == RunStatus.HELD
    assert SyncRun.objects.filter(user=owner).count() == 2
    assert Alert.objects.get(pk=alert.pk).resolved_at is None
    assert ProductPhoto.objects.filter(pk=photo.pk).exists()


def test_another_merchants_dashboard_and_history_show_nothing_of_the_owner(
    client, other_merchant, owner_run
):
    client.force_login(other_merchant)
    history = client.get(reverse("sync:runs"))
    assert f"#{owner_run.pk}" not in history.content.decode()
    dashboard = client.get(reverse("sync:dashboard"))
    assert reverse("sync:run_detail", args=[owner_run.pk]) not in dashboard.content.decode()


def test_photo_upload_page_for_an_unknown_product_is_404(owner_client, product):
    url = reverse("sync:photo_upload", args=["store-1", "product", "nope"])
    assert owner_client.get(url).status_code == 404
    url = reverse("sync:photo_upload", args=["store-1", "shelf", "prod-1"])
    assert owner_client.get(url).status_code == 404


def test_history_lists_runs_newest_first_with_their_counts(owner_client, owner):
    older = make_run(owner, created=7, failed=2, status=RunStatus.PARTIAL)
    newer = make_run(owner, updated=4)
    SyncRun.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(hours=1))
    page = owner_client.get(reverse("sync:runs")).content.decode()
    assert page.index(f"#{newer.pk}") < page.index(f"#{older.pk}")
    assert "7 / 0 / 0" in page


def test_run_detail_lists_failed_items_with_vks_message_and_offers_retry(owner_client, owner):
    run = make_run(owner, status=RunStatus.PARTIAL, created=2, failed=1)
    SyncRunItem.objects.create(
        run=run,
        store_id="s",
        product_id="p1",
        product_name="Чай",
        action="create",
        status=RunItemStatus.FAILED,
        error="VK refused this item: photo not found (error 100).",
    )
    SyncRunItem.objects.create(
        run=run, store_id="s", product_id="p2", product_name="Кофе", action="create", status="ok"
    )
    page = owner_client.get(reverse("sync:run_detail", args=[run.pk])).content.decode()
    assert "photo not found (error 100)" in page
    assert reverse("sync:run_retry", args=[run.pk]) in page
    only_ok = owner_client.get(reverse("sync:run_detail", args=[run.pk]) + "?status=ok")
    assert "Кофе" in only_ok.content.decode()
