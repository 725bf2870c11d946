"""Run pages: live progress, "Retry failed", and the removal guard's confirmation."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from sync.locks import sync_lock_acquire
from sync.models import (
    Alert,
    AlertCause,
    RunItemStatus,
    RunStatus,
    RunTrigger,
    SyncRun,
    SyncRunItem,
)
from tests.sync_ui.conftest import make_run

pytestmark = pytest.mark.django_db


def test_progress_of_a_running_sync_is_json_for_the_poller(owner_client, owner):
    run = make_run(owner, status=RunStatus.RUNNING, total=40, done=10, started_at=timezone.now())
    response = owner_client.get(reverse("sync:run_progress", args=[run.pk]))
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    data = response.json()
    assert data["done"] is False
    assert data["percent"] == 25
    assert (data["done_items"], data["total"]) == (10, 40)
    assert 'class="pct-5"' in data["html"]  # 25 % in 5 % steps: no style attribute (CSP)
    assert "10 из 40" in data["html"]


def test_progress_of_a_finished_run_says_done_with_the_final_counts(owner_client, owner):
    run = make_run(
        owner,
        status=RunStatus.PARTIAL,
        total=5,
        done=5,
        created=4,
        failed=1,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    data = owner_client.get(reverse("sync:run_progress", args=[run.pk])).json()
    assert data["done"] is True
    assert 'class="progress"' not in data["html"]
    assert '<span class="count">4</span>' in data["html"]


def test_the_pages_of_an_active_run_poll_for_progress(owner_client, owner):
    run = make_run(owner, status=RunStatus.RUNNING, total=3, started_at=timezone.now())
    poll = f'hx-get="{reverse("sync:run_progress", args=[run.pk])}'
    assert poll in owner_client.get(reverse("sync:run_detail", args=[run.pk])).content.decode()
    assert poll in owner_client.get(reverse("sync:dashboard")).content.decode()
    finished = make_run(owner)
    page = owner_client.get(reverse("sync:run_detail", args=[finished.pk])).content.decode()
    assert "hx-get" not in page and "hx-trigger" not in page


HTMX = {"HTTP_HX_REQUEST": "true"}


def test_htmx_polls_get_the_progress_html_while_the_run_goes_on(owner_client, owner):
    run = make_run(owner, status=RunStatus.RUNNING, total=40, done=10, started_at=timezone.now())
    response = owner_client.get(reverse("sync:run_progress", args=[run.pk]), **HTMX)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "no-cache" in response["Cache-Control"]
    assert 'class="pct-5"' in response.content.decode()


def test_htmx_poll_of_a_finished_run_stops_polling_with_the_final_html(owner_client, owner):
    run = make_run(owner, status=RunStatus.SUCCEEDED, total=2, done=2, created=2)
    response = owner_client.get(reverse("sync:run_progress", args=[run.pk]), **HTMX)
    assert response.status_code == 286  # htmx stops an "every …" trigger on 286
    assert '<span class="count">2</span>' in response.content.decode()


def test_htmx_poll_of_a_finished_run_reloads_a_page_that_asks_for_it(owner_client, owner):
    run = make_run(owner, status=RunStatus.SUCCEEDED, total=2, done=2, created=2)
    url = reverse("sync:run_progress", args=[run.pk]) + "?reload=1"
    response = owner_client.get(url, **HTMX)
    assert response["HX-Refresh"] == "true"


def test_another_merchants_run_is_not_polled(owner_client, other_merchant):
    run = make_run(other_merchant, status=RunStatus.RUNNING, total=2)
    response = owner_client.get(reverse("sync:run_progress", args=[run.pk]), **HTMX)
    assert response.status_code == 404


def test_retry_failed_queues_a_retry_run_that_sends_the_failed_items_again(
    owner_client, shop, django_capture_on_commit_callbacks
):
    shop.vk.fail(100, method="market.add", count=1, message="Invalid photo")
    first = shop.sync()
    assert first.status == RunStatus.PARTIAL, first.error
    assert first.failed == 1
    failed = SyncRunItem.objects.get(run=first, status=RunItemStatus.FAILED)
    page = owner_client.get(reverse("sync:run_detail", args=[first.pk])).content.decode()
    assert failed.product_name in page
    assert "Invalid photo" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("sync:run_retry", args=[first.pk]))
    retry = SyncRun.objects.filter(user=shop.user).first()
    assert retry.pk != first.pk
    assert response["Location"] == reverse("sync:run_detail", args=[retry.pk])
    assert retry.trigger == RunTrigger.RETRY
    assert retry.status == RunStatus.SUCCEEDED, retry.error
    assert retry.created == 1
    assert len(shop.vk_items()) == 5


def test_retry_of_a_run_without_failures_changes_nothing(owner_client, owner):
    run = make_run(owner)
    response = owner_client.post(reverse("sync:run_retry", args=[run.pk]))
    assert response["Location"] == reverse("sync:run_detail", args=[run.pk])
    assert SyncRun.objects.count() == 1


def test_a_held_run_asks_for_confirmation_and_then_removes(
    owner_client, shop, mailoutbox, django_capture_on_commit_callbacks
):
    assert shop.sync().status == RunStatus.SUCCEEDED
    shop.switch_store(False)
    with django_capture_on_commit_callbacks(execute=True):
        held = shop.sync()
    assert held.status == RunStatus.HELD
    assert len(shop.vk_items()) == 5  # nothing hidden yet
    assert Alert.objects.filter(user=shop.user, cause=AlertCause.REMOVAL_GUARD).count() == 1
    assert len(mailoutbox) == 1

    dashboard = owner_client.get(reverse("sync:dashboard")).content.decode()
    confirm_url = reverse("sync:run_confirm", args=[held.pk])
    assert confirm_url in dashboard  # the banner's link

    page = owner_client.get(confirm_url).content.decode()
    assert "5 из 5" in page
    assert "100 %" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(confirm_url)
    assert response["Location"] == reverse("sync:run_detail", args=[held.pk])
    held.refresh_from_db()
    assert held.status == RunStatus.SUCCEEDED, held.error
    assert held.hidden == 5
    assert all(item["availability"] != 0 for item in shop.vk.items(200001))
    assert not Alert.objects.filter(user=shop.user, resolved_at__isnull=True).exists()


def test_cancelling_a_held_run_removes_nothing_and_clears_the_alert(owner_client, shop):
    assert shop.sync().status == RunStatus.SUCCEEDED
    shop.switch_store(False)
    held = shop.sync()
    assert held.status == RunStatus.HELD
    response = owner_client.post(reverse("sync:run_cancel", args=[held.pk]))
    assert response["Location"] == reverse("sync:dashboard")
    held.refresh_from_db()
    assert held.status == RunStatus.STOPPED
    assert len(shop.vk_items()) == 5
    assert not Alert.objects.filter(user=shop.user, resolved_at__isnull=True).exists()
    # Confirming it afterwards is no longer possible.
    again = owner_client.post(reverse("sync:run_confirm", args=[held.pk]))
    assert again["Location"] == reverse("sync:run_detail", args=[held.pk])
    held.refresh_from_db()
    assert held.status == RunStatus.STOPPED


def test_confirm_page_of_a_run_that_is_not_held_goes_to_the_run(owner_client, owner):
    run = make_run(owner)
    response = owner_client.get(reverse("sync:run_confirm", args=[run.pk]))
    assert response["Location"] == reverse("sync:run_detail", args=[run.pk])


def test_sync_now_while_a_run_is_active_shows_that_run(owner_client, owner):
    from sync.plan.inputs import sync_settings_get

    settings_obj = sync_settings_get(owner)
    settings_obj.first_published_at = timezone.now()
    settings_obj.save()
    active = make_run(owner, status=RunStatus.RUNNING, started_at=timezone.now())
    # A running run is alive while its worker holds the merchant's lock.
    lock = sync_lock_acquire(owner.pk)
    response = owner_client.post(reverse("sync:sync_now"))
    lock.release()
    assert response["Location"] == reverse("sync:run_detail", args=[active.pk])
    assert SyncRun.objects.count() == 1


def test_the_engines_reasons_read_in_russian_with_a_photo_upload_link(owner_client, owner):
    run = make_run(owner, status=RunStatus.PARTIAL, failed=1, skipped=1)
    for product_id, status, error in (
        ("p1", RunItemStatus.FAILED, "photo_unreadable"),
        ("p2", RunItemStatus.SKIPPED, "no_photo"),
        ("p3", RunItemStatus.FAILED, "Item is too cheap (100)"),
    ):
        SyncRunItem.objects.create(
            run=run,
            store_id="s1",
            product_id=product_id,
            product_name=f"Товар {product_id}",
            action="create",
            status=status,
            error=error,
        )
    page = owner_client.get(reverse("sync:run_detail", args=[run.pk])).content.decode()
    assert "Фото не удалось прочитать" in page
    assert "Нет фотографии" in page
    assert "Item is too cheap (100)" in page  # VK's own words stay as VK said them
    assert "photo_unreadable" not in page and ">no_photo<" not in page
    for product_id in ("p1", "p2"):
        assert reverse("sync:photo_upload", args=["s1", "product", product_id]) in page
    assert reverse("sync:photo_upload", args=["s1", "product", "p3"]) not in page
