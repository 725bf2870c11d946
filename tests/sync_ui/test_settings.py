"""The settings page: VK's categories (or the built-in list), validation, the default photo."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from connections.models import ConnectionState, VkConnection
from sync.categories import FALLBACK_CATEGORIES, parse_categories
from sync.models import SyncSettings
from sync.plan.inputs import sync_settings_get
from tests.sync_ui.conftest import CATEGORY, image_bytes, upload

pytestmark = pytest.mark.django_db

URL = reverse("sync:settings")


def form_data(**overrides):
    data = {
        "auto_sync": "on",
        "vk_category_id": "20055",  # «Бакалея» in the built-in list (no VK connection)
        "price_markup_percent": "10",
        "price_rounding": "rouble",
        "old_price_percent": "0",
        "removal_policy": "hide",
        "out_of_stock_policy": "hide",
        "albums_from_groups": "on",
        "removal_guard_percent": "20",
        "name_owner": "evotor",
        "description_owner": "evotor",
        "photos_owner": "evotor",
        "albums_owner": "evotor",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_the_category_chooser_offers_vks_categories_of_the_community(owner_client, connected):
    page = owner_client.get(URL).content.decode()
    assert "Кондитерские изделия" in page  # from the VK sandbox's market.getCategories
    assert f'value="{CATEGORY}"' in page


def test_without_vk_the_chooser_falls_back_to_the_built_in_list(owner_client, owner):
    response = owner_client.get(URL)
    page = response.content.decode()
    assert not response.context["categories_from_vk"]
    assert "Бакалея" in page
    assert 'value="20055"' in page


def test_a_vk_failure_falls_back_to_the_built_in_list(owner_client, connected, fast_vk):
    fast_vk.fail(10, method="market.getCategories")
    response = owner_client.get(URL)
    assert response.status_code == 200
    assert not response.context["categories_from_vk"]
    assert 'value="20055"' in response.content.decode()


def test_a_broken_vk_connection_is_not_asked(owner_client, connected, owner, fast_vk):
    VkConnection.objects.filter(user=owner).update(state=ConnectionState.BROKEN)
    response = owner_client.get(URL)
    assert not response.context["categories_from_vk"]
    assert "market.getCategories" not in fast_vk.stats()["requests_by_method"]


def test_parse_categories_understands_the_old_flat_shape():
    flat = {
        "count": 2,
        "items": [
            {"id": 1, "name": "Женская одежда", "section": {"id": 0, "name": "Гардероб"}},
            {"id": 100, "name": "Игрушки", "section": {"id": 1, "name": "Детские товары"}},
        ],
    }
    assert parse_categories(flat) == [
        ("Гардероб", [(1, "Женская одежда")]),
        ("Детские товары", [(100, "Игрушки")]),
    ]
    assert parse_categories({}) == []


def test_saving_valid_settings_stores_them(owner_client, owner, connected):
    response = owner_client.post(
        URL, form_data(auto_sync=None, old_price_percent="15", vk_category_id=str(CATEGORY))
    )
    assert response.status_code == 302
    saved = SyncSettings.objects.get(user=owner)
    assert saved.vk_category_id == CATEGORY
    assert saved.price_markup_percent == Decimal("10")
    assert saved.price_rounding == "rouble"
    assert saved.old_price_percent == Decimal("15")
    assert saved.auto_sync is False


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("price_markup_percent", "abc", "Введите число"),
        ("price_markup_percent", "5000", "1000"),
        ("price_markup_percent", "-95", "-90"),
        ("old_price_percent", "-1", "0"),
        ("removal_guard_percent", "0", "1"),
        ("removal_guard_percent", "150", "100"),
        ("vk_category_id", "999999", "999999"),
    ],
)
def test_bad_values_are_refused_with_a_clear_error_and_nothing_changes(
    owner_client, owner, field, value, message
):
    before = sync_settings_get(owner)
    before.price_markup_percent = Decimal("5")
    before.save()
    response = owner_client.post(URL, form_data(**{field: value}))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors
    assert message in " ".join(errors[field])
    assert "Исправьте ошибки" in response.content.decode()
    after = SyncSettings.objects.get(user=owner)
    assert after.price_markup_percent == Decimal("5")
    assert after.price_rounding == "none"


def test_the_category_cannot_be_left_empty(owner_client, owner):
    from django.utils import timezone

    settings_obj = sync_settings_get(owner)
    settings_obj.vk_category_id = 20055
    settings_obj.first_published_at = timezone.now()
    settings_obj.save()
    response = owner_client.post(URL, form_data(vk_category_id=""))
    assert "vk_category_id" in response.context["form"].errors
    assert SyncSettings.objects.get(user=owner).vk_category_id == 20055


def test_a_category_no_longer_listed_stays_chosen(owner_client, owner):
    settings_obj = sync_settings_get(owner)
    settings_obj.vk_category_id = 777777
    settings_obj.save()
    page = owner_client.get(URL).content.decode()
    assert 'value="777777" selected' in page


def test_a_default_photo_is_stored_and_shown_to_its_owner_only(
    client, owner, other_merchant, media
):
    client.force_login(owner)
    response = client.post(URL, {**form_data(), "default_photo": upload("default.png")})
    assert response.status_code == 302
    saved = SyncSettings.objects.get(user=owner)
    assert saved.default_photo.name.startswith("default_photos/")
    image = client.get(reverse("sync:default_photo_image"))
    assert image.status_code == 200
    assert b"".join(image.streaming_content) == saved.default_photo.open("rb").read()
    # The form's "Currently:" link goes to the owner-checked view, never to a public MEDIA_URL.
    page = client.get(URL).content.decode()
    assert f'href="{reverse("sync:default_photo_image")}"' in page
    assert "/media/" not in page and "default_photos/" not in page
    client.force_login(other_merchant)
    assert client.get(reverse("sync:default_photo_image")).status_code == 404


def test_replacing_the_default_photo_deletes_the_old_file(
    owner_client, owner, media, django_capture_on_commit_callbacks
):
    owner_client.post(URL, {**form_data(), "default_photo": upload("one.png")})
    first = SyncSettings.objects.get(user=owner).default_photo
    first_path = first.path
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(URL, {**form_data(), "default_photo": upload("two.png")})
    second = SyncSettings.objects.get(user=owner).default_photo
    assert second.name != first.name
    assert not (media / first.name).exists()
    assert (media / second.name).exists()
    del first_path


@pytest.mark.parametrize(
    ("file", "message"),
    [
        (upload("notes.png", content=b"this is not a picture at all"), "не фотография"),
        (upload("tiny.png", size=(120, 120)), "не меньше 400×400"),
        (upload("anim.gif", fmt="GIF"), "JPEG, PNG и WebP"),
    ],
    ids=["not-an-image", "too-small", "wrong-format"],
)
def test_a_bad_default_photo_is_refused_and_the_old_one_kept(
    owner_client, owner, media, file, message
):
    owner_client.post(URL, {**form_data(), "default_photo": upload("good.png")})
    good = SyncSettings.objects.get(user=owner).default_photo.name
    response = owner_client.post(
        URL, {**form_data(price_markup_percent="30"), "default_photo": file}
    )
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["default_photo"])
    assert message in errors
    after = SyncSettings.objects.get(user=owner)
    assert after.default_photo.name == good
    assert after.price_markup_percent == Decimal("10")  # the whole form was refused


def test_a_photo_over_the_size_limit_is_refused(owner_client, owner, media, monkeypatch):
    from sync import forms

    monkeypatch.setattr(forms, "PHOTO_MAX_BYTES", 1000)
    big = upload("big.png", content=image_bytes((600, 600)) + b"\0" * 2000)
    response = owner_client.post(URL, {**form_data(), "default_photo": big})
    assert "default_photo" in response.context["form"].errors
    assert not SyncSettings.objects.get(user=owner).default_photo


def test_the_fallback_list_uses_real_vk_category_ids():
    ids = [value for _group, options in FALLBACK_CATEGORIES for value, _label in options]
    assert len(ids) == len(set(ids))
    assert all(20000 <= value < 21000 for value in ids)
