"""Staff open a merchant's sync runs (and the rest of publishing) in the Django admin."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from catalog.models import SyncFilter
from sync.debounce import changes_note
from sync.models import (
    AlbumLink,
    Alert,
    AlertCause,
    ItemLink,
    ProductPhoto,
    RunItemStatus,
    RunStatus,
    SyncRunItem,
)
from sync.plan.inputs import sync_settings_get
from tests.sync_ui.conftest import make_run, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(owner):
    run = make_run(
        owner,
        status=RunStatus.PARTIAL,
        created=2,
        failed=1,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    SyncRunItem.objects.create(
        run=run,
        store_id="s",
        product_id="p1",
        product_name="Чай зелёный",
        action="create",
        status=RunItemStatus.FAILED,
        error="photo is undefined",
    )
    SyncRunItem.objects.create(
        run=run, store_id="s", product_id="p2", product_name="Кофе", action="create", status="ok"
    )
    return run


def test_staff_open_a_sync_run_with_its_failed_items(staff_client, run):
    changelist = staff_client.get(reverse("admin:sync_syncrun_changelist"))
    assert changelist.status_code == 200
    assert "owner@example.ru" in changelist.content.decode()
    page = staff_client.get(reverse("admin:sync_syncrun_change", args=[run.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Чай зелёный" in html and "photo is undefined" in html
    assert "Кофе" not in html  # successes are on the items list, not inline
    items = staff_client.get(
        reverse("admin:sync_syncrunitem_changelist") + f"?run__id__exact={run.pk}"
    )
    assert items.status_code == 200
    assert "Кофе" in items.content.decode()


def test_staff_find_runs_by_the_merchants_email(staff_client, run, other_merchant):
    make_run(other_merchant)
    page = staff_client.get(reverse("admin:sync_syncrun_changelist") + "?q=owner@")
    assert page.context["cl"].result_count == 1


def test_staff_find_item_links_by_sku_vk_id_and_email(staff_client, owner):
    ItemLink.objects.create(
        user=owner, store_id="s", product_id="p", sku="ART-77", vk_item_id=4242, state="published"
    )
    for query in ("ART-77", "4242", "owner@example.ru"):
        page = staff_client.get(reverse("admin:sync_itemlink_changelist") + f"?q={query}")
        assert page.context["cl"].result_count == 1, query


def test_every_publishing_admin_page_opens_for_staff(staff_client, owner, run, media):
    sync_settings_get(owner)
    Alert.objects.create(user=owner, cause=AlertCause.CAPTCHA, message="captcha")
    ProductPhoto.objects.create(
        user=owner, store_id="s", entity_type="product", entity_id="p", image=upload()
    )
    SyncFilter.objects.create(user=owner, entity_type="store", entity_id="s", enabled=True)
    AlbumLink.objects.create(user=owner, store_id="s", group_id="g", vk_album_id=5, title="Чай")
    link = ItemLink.objects.create(user=owner, store_id="s", product_id="p", sku="x")
    changes_note(user=owner)
    for model in (
        "syncrun",
        "syncrunitem",
        "itemlink",
        "albumlink",
        "syncsettings",
        "alert",
        "productphoto",
        "synclock",
        "publishdue",
    ):
        response = staff_client.get(reverse(f"admin:sync_{model}_changelist"))
        assert response.status_code == 200, model
    assert (
        staff_client.get(reverse("admin:sync_itemlink_change", args=[link.pk])).status_code == 200
    )
    # The store and group switches moved with the catalog pages that write them.
    assert staff_client.get(reverse("admin:catalog_syncfilter_changelist")).status_code == 200


def test_staff_resolve_alerts_with_an_action(staff_client, owner):
    alert = Alert.objects.create(user=owner, cause=AlertCause.CAPTCHA, message="captcha")
    staff_client.post(
        reverse("admin:sync_alert_changelist"),
        {"action": "resolve", "_selected_action": [alert.pk]},
    )
    alert.refresh_from_db()
    assert alert.resolved_at is not None


def test_runs_are_read_only_in_the_admin(staff_client, run):
    response = staff_client.post(
        reverse("admin:sync_syncrun_change", args=[run.pk]), {"status": "succeeded"}
    )
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.status == RunStatus.PARTIAL


def test_merchants_do_not_get_into_the_admin(owner_client, run):
    response = owner_client.get(reverse("admin:sync_syncrun_change", args=[run.pk]))
    assert response.status_code == 302


def test_staff_queue_a_retry_of_a_runs_failed_items_from_the_admin(
    staff_client, run, django_capture_on_commit_callbacks
):
    from connections.models import VkConnection
    from sync.models import RunTrigger, SyncRun, SyncSettings

    VkConnection.objects.create(user=run.user, access_token="vk-token", group_id=1)
    SyncSettings.objects.create(user=run.user, vk_category_id=40099)
    with django_capture_on_commit_callbacks(execute=False):
        staff_client.post(
            reverse("admin:sync_syncrun_changelist"),
            {"action": "retry_failed", "_selected_action": [run.pk]},
        )
    retry = SyncRun.objects.exclude(pk=run.pk).get()
    assert retry.user == run.user
    assert retry.trigger == RunTrigger.RETRY


def test_staff_retry_of_a_merchant_without_vk_says_why_and_queues_nothing(staff_client, run):
    from sync.models import SyncRun

    response = staff_client.post(
        reverse("admin:sync_syncrun_changelist"),
        {"action": "retry_failed", "_selected_action": [run.pk]},
        follow=True,
    )
    assert f"#{run.pk}: " in response.content.decode()
    assert not SyncRun.objects.exclude(pk=run.pk).exists()


def test_private_photos_are_named_in_the_admin_without_a_dead_media_link(
    staff_client, owner, media
):
    from django.core.files.base import ContentFile

    from tests.sync_ui.conftest import image_bytes

    photo = ProductPhoto.objects.create(
        user=owner, store_id="s", entity_type="product", entity_id="p", image=upload("tea.png")
    )
    settings_obj = sync_settings_get(owner)
    settings_obj.default_photo.save("shop-default.png", ContentFile(image_bytes((640, 640))))
    pages = {
        "list of photos": reverse("admin:sync_productphoto_changelist"),
        "a photo": reverse("admin:sync_productphoto_change", args=[photo.pk]),
        "settings": reverse("admin:sync_syncsettings_change", args=[settings_obj.pk]),
    }
    for name, url in pages.items():
        html = staff_client.get(url).content.decode()
        assert "/media/" not in html, name
        assert settings.MEDIA_URL not in html, name
    photo_page = staff_client.get(pages["a photo"]).content.decode()
    assert "tea" in photo_page and "500×500 px" in photo_page
    settings_page = staff_client.get(pages["settings"]).content.decode()
    assert "shop-default" in settings_page and "640×640 px" in settings_page


def test_run_items_show_the_engines_reasons_in_words(staff_client, run):
    SyncRunItem.objects.create(
        run=run,
        store_id="s",
        product_id="p3",
        product_name="Вода",
        action="create",
        status=RunItemStatus.SKIPPED,
        error="no_photo",
    )
    page = staff_client.get(reverse("admin:sync_syncrun_change", args=[run.pk])).content.decode()
    assert "Нет фотографии: без неё ВКонтакте не принимает товар." in page
    assert ">no_photo<" not in page


def test_the_publishing_app_is_named_in_russian_in_the_admin(staff_client):
    page = staff_client.get(reverse("admin:index")).content.decode()
    assert "Публикация" in page
