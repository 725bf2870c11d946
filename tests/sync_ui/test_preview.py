"""The preview against the engine's planner and the sandboxes, and publishing from it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from sync.models import ItemLink, ProductPhoto, RunStatus, RunTrigger, SyncRun, SyncSettings
from sync.plan.inputs import sync_settings_get
from tests.sync_ui.conftest import VK_GROUP, upload

pytestmark = pytest.mark.django_db

PREVIEW = reverse("sync:preview")


def counts(response) -> dict:
    return response.context["counts"]


def test_preview_shows_what_the_first_publish_would_create(owner_client, shop):
    response = owner_client.get(PREVIEW)
    assert response.status_code == 200
    assert counts(response)["create"] == 5
    page = response.content.decode()
    assert "Чай чёрный листовой" in page
    assert "Булочка с маком" in page
    assert "Напитки" in page and "Выпечка" in page  # albums to create
    assert reverse("sync:publish") in page
    # Nothing was written anywhere.
    assert not ItemLink.objects.filter(user=shop.user).exists()
    assert not SyncRun.objects.filter(user=shop.user).exists()
    assert shop.vk_items() == []


def test_sync_now_before_the_first_publish_goes_to_the_preview(owner_client, shop):
    response = owner_client.post(reverse("sync:sync_now"))
    assert response.status_code == 302
    assert response["Location"] == PREVIEW
    assert not SyncRun.objects.filter(user=shop.user).exists()


def test_publish_from_the_preview_creates_a_run_and_applies_it(
    owner_client, shop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("sync:publish"))
    run = SyncRun.objects.get(user=shop.user)
    assert response["Location"] == reverse("sync:run_detail", args=[run.pk])
    assert run.trigger == RunTrigger.MANUAL
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.created == 5
    assert len(shop.vk_items()) == 5
    assert sync_settings_get(shop.user).first_published_at is not None
    detail = owner_client.get(response["Location"]).content.decode()
    assert "Чай чёрный листовой" in detail


def test_after_the_first_publish_sync_now_starts_a_run(
    owner_client, shop, django_capture_on_commit_callbacks
):
    assert shop.sync().status == RunStatus.SUCCEEDED
    shop.evotor.set_product(shop.store_id, shop.products["tea"], price=175)
    shop.refresh()
    preview = owner_client.get(PREVIEW)
    assert counts(preview)["update"] == 1
    assert "175" in preview.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("sync:sync_now"))
    run = SyncRun.objects.filter(user=shop.user).first()
    assert response["Location"] == reverse("sync:run_detail", args=[run.pk])
    assert run.updated == 1
    assert counts(owner_client.get(PREVIEW))["update"] == 0


def test_without_a_category_every_item_is_flagged_with_a_link_to_the_settings(owner_client, shop):
    settings_obj = sync_settings_get(shop.user)
    settings_obj.vk_category_id = None
    settings_obj.save()
    response = owner_client.get(PREVIEW)
    assert counts(response)["skipped"] == 5
    assert counts(response)["create"] == 0
    page = response.content.decode()
    assert 'data-flag="no_category"' in page
    assert reverse("sync:settings") in page


def test_a_name_too_short_is_flagged(owner_client, shop):
    shop.add("tiny", "Ч", measure_name="")
    shop.refresh()
    response = owner_client.get(PREVIEW)
    page = response.content.decode()
    assert counts(response)["skipped"] == 1
    assert 'data-flag="name_too_short"' in page


def test_a_product_without_any_photo_is_flagged_with_an_upload_link_until_one_is_uploaded(
    owner_client, shop, media
):
    shop.add("water", "Вода питьевая 0,5 л", image=False)
    shop.refresh()
    run = shop.sync()
    assert run.skipped == 1  # the publisher looked: Evotor has no image, nothing else either
    response = owner_client.get(PREVIEW)
    assert counts(response)["skipped"] == 1
    page = response.content.decode()
    assert 'data-flag="no_photo"' in page
    upload_url = reverse(
        "sync:photo_upload", args=[shop.store_id, "product", shop.products["water"]]
    )
    assert upload_url in page

    form = owner_client.get(upload_url)
    assert form.status_code == 200
    assert "Вода питьевая" in form.content.decode()
    saved = owner_client.post(upload_url, {"image": upload("water.png"), "next": PREVIEW})
    assert saved.status_code == 302
    assert saved["Location"] == PREVIEW
    assert ProductPhoto.objects.filter(user=shop.user, entity_id=shop.products["water"]).exists()
    after = owner_client.get(PREVIEW)
    assert counts(after)["skipped"] == 0
    assert counts(after)["create"] == 1


def test_a_bad_product_photo_is_refused_and_nothing_stored(owner_client, shop, media):
    url = reverse("sync:photo_upload", args=[shop.store_id, "product", shop.products["tea"]])
    response = owner_client.post(url, {"image": upload("small.png", size=(100, 100))})
    assert response.status_code == 200
    assert "image" in response.context["form"].errors
    assert not ProductPhoto.objects.exists()


def test_a_group_photo_can_be_uploaded_and_removed(
    owner_client, shop, media, django_capture_on_commit_callbacks
):
    url = reverse("sync:photo_upload", args=[shop.store_id, "group", shop.groups["Выпечка"]])
    owner_client.post(url, {"image": upload("bakery.png")})
    photo = ProductPhoto.objects.get(user=shop.user, entity_type="group")
    path = media / photo.image.name
    assert path.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("sync:photo_delete", args=[photo.pk]))
    assert response["Location"] == url
    assert not ProductPhoto.objects.exists()
    assert not path.exists()


def test_existing_vk_items_with_the_same_article_are_listed_for_adoption(
    owner_client, shop, fast_vk
):
    from vk_catalog.services import vk_catalog_refresh_for_user

    fast_vk.add_item(VK_GROUP, title="Чай из VK", sku="UI-tea", price=150, category_id=40099)
    vk_catalog_refresh_for_user(user=shop.user)
    response = owner_client.get(PREVIEW)
    assert counts(response)["adopt"] == 1
    assert counts(response)["create"] == 4
    page = response.content.decode()
    assert "section-adopt" in page
    assert "Чай из VK" in page


def test_preview_warns_when_the_vk_market_could_not_be_read(owner_client, shop, fast_vk):
    fast_vk.fail(10, method="market.get")
    response = owner_client.get(PREVIEW)
    assert response.status_code == 200
    assert counts(response)["create"] == 5
    assert reverse("vk_catalog:albums") in response.content.decode()


def test_show_all_lists_one_action_page_by_page(owner_client, shop):
    for n in range(12):
        shop.add(f"extra{n}", f"Печенье овсяное №{n}", group="Выпечка")
    shop.refresh()
    first = owner_client.get(PREVIEW)
    assert "?action=create" in first.content.decode()
    full = owner_client.get(PREVIEW + "?action=create")
    assert full.status_code == 200
    assert full.context["page"].paginator.count == 17
    assert "Печенье овсяное №11" in full.content.decode()


def test_the_removal_guard_is_announced_in_the_preview(owner_client, shop):
    assert shop.sync().status == RunStatus.SUCCEEDED
    shop.switch_store(False)
    response = owner_client.get(PREVIEW)
    assert counts(response)["hide"] == 5
    assert response.context["plan"].guard_held
    assert 'role="alert"' in response.content.decode()


def test_publishing_without_a_working_vk_connection_says_so_and_starts_nothing(owner_client, shop):
    from connections.models import ConnectionState, VkConnection

    VkConnection.objects.filter(user=shop.user).update(
        state=ConnectionState.BROKEN, last_error="Ключ отозван."
    )
    response = owner_client.post(reverse("sync:publish"), follow=True)
    assert response.redirect_chain[-1][0] == PREVIEW
    assert "Ключ отозван." in response.content.decode()
    assert not SyncRun.objects.exists()
    VkConnection.objects.filter(user=shop.user).delete()
    SyncSettings.objects.filter(user=shop.user).update(first_published_at=timezone.now())
    response = owner_client.post(reverse("sync:sync_now"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("sync:dashboard")
    assert "Сначала подключите сообщество ВКонтакте" in response.content.decode()
    assert not SyncRun.objects.exists()


def test_removals_confirmed_in_the_preview_are_published_without_asking_again(
    owner_client, shop, django_capture_on_commit_callbacks
):
    assert shop.sync().status == RunStatus.SUCCEEDED
    shop.switch_store(False)
    page = owner_client.get(PREVIEW).content.decode()
    assert 'name="confirm_removals" value="5"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("sync:publish"), {"confirm_removals": "5"})
    run = SyncRun.objects.filter(user=shop.user).first()
    assert response["Location"] == reverse("sync:run_detail", args=[run.pk])
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.hidden, run.confirmed_removals) == (5, 5)
    assert all(item["availability"] != 0 for item in shop.vk_items())


def test_publishing_without_the_confirmation_holds_the_run_for_the_confirm_page(
    owner_client, shop, django_capture_on_commit_callbacks
):
    assert shop.sync().status == RunStatus.SUCCEEDED
    shop.switch_store(False)
    for tampered in ({}, {"confirm_removals": "lots"}, {"confirm_removals": "-3"}):
        SyncRun.objects.filter(status=RunStatus.HELD).delete()
        with django_capture_on_commit_callbacks(execute=True):
            owner_client.post(reverse("sync:publish"), tampered)
        run = SyncRun.objects.filter(user=shop.user).first()
        assert run.status == RunStatus.HELD, tampered
        assert run.confirmed_removals == 0
    assert all(item["availability"] == 0 for item in shop.vk_items())
    confirm_url = reverse("sync:run_confirm", args=[run.pk])
    assert owner_client.get(confirm_url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(confirm_url)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.hidden == 5


def test_new_items_whose_evotor_photo_is_not_checked_yet_are_announced(
    owner_client, shop, monkeypatch
):
    from sync.plan import preview

    monkeypatch.setattr(preview, "PREVIEW_LOOKUP_MAX", 0)  # too many to read now
    response = owner_client.get(PREVIEW)
    assert counts(response)["photo_unchecked"] == 5
    page = response.content.decode()
    assert 'id="photo-unchecked"' in page
    assert 'data-count="photo_unchecked"' in page
    assert "Фото из Эвотора проверим при публикации" in page
    assert "загрузите фото по умолчанию" in page
    assert reverse("sync:settings") in page


def test_the_preview_checks_evotor_photos_and_flags_a_product_without_one(owner_client, shop):
    shop.add("water", "Вода питьевая 0,5 л", image=False)
    shop.refresh()
    response = owner_client.get(PREVIEW)
    assert counts(response)["create"] == 5
    assert counts(response)["skipped"] == 1
    assert counts(response)["photo_unchecked"] == 0
    page = response.content.decode()
    assert 'data-flag="no_photo"' in page
    assert 'id="photo-unchecked"' not in page
