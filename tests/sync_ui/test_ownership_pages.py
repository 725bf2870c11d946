"""Field ownership on the pages: the settings' choices and the preview's notes, in Russian."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sync.models import FieldOwner, SyncSettings
from tests.sync_ui.conftest import CATEGORY, VK_GROUP
from tests.sync_ui.test_settings import form_data as all_fields

pytestmark = pytest.mark.django_db

SETTINGS = reverse("sync:settings")
PREVIEW = reverse("sync:preview")


def form_data(**overrides):
    return all_fields(vk_category_id=str(CATEGORY), **overrides)


def read_vk_catalog(user):
    from vk_catalog.models import RefreshStatus
    from vk_catalog.services import vk_catalog_refresh_for_user

    assert vk_catalog_refresh_for_user(user=user).status == RefreshStatus.OK


def publish_then_edit_tea_in_vk(shop, **edits):
    assert shop.sync().status == "succeeded"
    shop.vk.edit_item(VK_GROUP, shop.vk_item("tea")["id"], **edits)
    read_vk_catalog(shop.user)


def test_the_settings_page_explains_who_owns_each_field(owner_client, connected):
    page = owner_client.get(SETTINGS).content.decode()
    assert "Кому принадлежит каждое поле" in page
    assert "Цена, наличие и остаток всегда берутся из Эвотора" in page
    assert page.count('value="vk"') == 4
    assert "ВКонтакте: задаётся один раз, дальше правится только во ВКонтакте" in page


def test_every_field_is_evotors_by_default(owner_client, owner, connected):
    response = owner_client.post(SETTINGS, form_data())
    assert response.status_code == 302
    saved = SyncSettings.objects.get(user=owner)
    assert saved.vk_owned_fields == frozenset()


def test_giving_description_and_photos_to_vk_is_saved(owner_client, owner, connected):
    owner_client.post(SETTINGS, form_data(description_owner="vk", photos_owner="vk"))
    saved = SyncSettings.objects.get(user=owner)
    assert saved.vk_owned_fields == frozenset({"description", "photo"})


def test_an_unknown_owner_is_refused_and_nothing_is_saved(owner_client, owner, connected):
    response = owner_client.post(SETTINGS, form_data(name_owner="ozon"))
    assert response.status_code == 200
    assert "Выберите корректный вариант" in response.content.decode()
    assert not SyncSettings.objects.filter(user=owner, name_owner="ozon").exists()


def test_giving_a_field_back_to_evotor_says_the_next_run_overwrites(owner_client, owner, connected):
    SyncSettings.objects.update_or_create(user=owner, defaults={"name_owner": FieldOwner.VK})
    response = owner_client.post(SETTINGS, form_data(), follow=True)
    page = response.content.decode()
    assert "Название: снова принадлежат Эвотору" in page
    assert "следующая публикация запишет в товары ВКонтакте значения из Эвотора" in page


def test_the_preview_says_which_fields_it_leaves_alone_and_why(owner_client, shop):
    shop.configure(description_owner=FieldOwner.VK)
    publish_then_edit_tea_in_vk(shop, description="Описание, отполированное во ВКонтакте")
    response = owner_client.get(PREVIEW)
    page = response.content.decode()
    assert response.context["counts"]["kept_in_vk"] == 1
    assert "Оставлено как во ВКонтакте" in page
    assert "Описание: изменено во ВКонтакте, поле принадлежит ВКонтакте" in page
    assert 'id="vk-edits-overwritten"' not in page
    assert "Правки, сделанные во ВКонтакте, учтены на момент последнего чтения" in page


def test_the_preview_warns_before_overwriting_an_edit_in_an_evotor_owned_field(owner_client, shop):
    publish_then_edit_tea_in_vk(shop, name="Чай из ВКонтакте")
    page = owner_client.get(PREVIEW).content.decode()
    assert 'id="vk-edits-overwritten"' in page
    assert "1 товар изменён во ВКонтакте в полях, которые принадлежат Эвотору" in page
    assert f'data-overwrites="{shop.products["tea"]}"' in page
    assert "Изменено во ВКонтакте: Название. Эти поля принадлежат Эвотору" in page
    assert "Чай из ВКонтакте" in page  # the old value, shown before Evotor's


def test_the_preview_says_evotor_owns_a_field_again(owner_client, shop):
    shop.configure(name_owner=FieldOwner.VK)
    publish_then_edit_tea_in_vk(shop, name="Чай из ВКонтакте")
    assert "Название: изменено во ВКонтакте" in owner_client.get(PREVIEW).content.decode()
    shop.configure(name_owner=FieldOwner.EVOTOR)
    page = owner_client.get(PREVIEW).content.decode()
    assert "Изменено во ВКонтакте: Название" in page
    assert "Оставлено как во ВКонтакте" not in page
