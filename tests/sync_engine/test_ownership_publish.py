"""Field ownership end to end through both sandboxes: publish, edit the item in VK as the
community's administrator, read the VK catalog, see it in the preview, publish again."""

from decimal import Decimal

import pytest
import requests
from django.conf import settings as django_settings

from sync.models import FieldOwner, ItemLink, RunStatus
from sync.plan.preview import sync_run_preview
from tests.sync_shop import CATEGORY, VK_GROUP, VK_TOKEN

POLISHED = "Отборный цейлонский чай, собранный вручную. Заваривать 3 минуты."


def read_vk_catalog(shop):
    from vk_catalog.models import RefreshStatus, RefreshTrigger
    from vk_catalog.services import vk_catalog_refresh_for_user

    run = vk_catalog_refresh_for_user(user=shop.user, trigger=RefreshTrigger.MANUAL)
    assert run.status == RefreshStatus.OK, run.error


def edit_through_api(shop, key, **params):
    """market.edit as the community's administrator sends it (docs/contracts/vk-market-api.md §3)."""
    item = shop.vk_item(key)
    body = {
        "access_token": VK_TOKEN,
        "v": django_settings.VK_API_VERSION,
        "owner_id": -VK_GROUP,
        "item_id": item["id"],
        "name": item["title"],
        "description": item["description"],
        "category_id": CATEGORY,
        "price": str(Decimal(item["price"]["amount"]) / 100),
        **params,
    }
    answer = requests.post(f"{django_settings.VK_API_URL}/market.edit", data=body, timeout=10)
    assert answer.json() == {"response": 1}, answer.text


def link_of(shop, key):
    return ItemLink.objects.get(user=shop.user, product_id=shop.products[key])


@pytest.fixture
def published(shop):
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED
    read_vk_catalog(shop)
    return shop


def test_reading_vk_after_a_publish_sees_no_edit_and_a_resync_writes_nothing(published):
    shop = published
    assert not ItemLink.objects.filter(user=shop.user).exclude(vk_edits={}).exists()
    before = shop.write_calls()
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED and run.total == 0
    assert shop.write_calls() == before


def test_an_edit_in_vk_is_recorded_by_the_vk_catalog_read(published):
    shop = published
    edit_through_api(shop, "tea", description=POLISHED)
    read_vk_catalog(shop)
    assert link_of(shop, "tea").vk_edits == {"description": POLISHED}


def test_a_vk_owned_description_edited_in_vk_survives_the_next_publish(published):
    shop = published
    shop.configure(description_owner=FieldOwner.VK)
    edit_through_api(shop, "tea", description=POLISHED)
    read_vk_catalog(shop)

    plan = sync_run_preview(user=shop.user)
    (kept,) = plan.kept_in_vk
    assert kept.product_id == shop.products["tea"] and kept.fields == {
        "description": "edited_in_vk"
    }
    assert plan.is_empty

    shop.set("tea", price=180)  # a price change at the till still goes through
    before = shop.write_calls()
    run = shop.refresh_and_sync()
    assert run.status == RunStatus.SUCCEEDED
    assert shop.write_calls() == before + 1
    item = shop.vk_item("tea")
    assert item["description"] == POLISHED
    assert item["price"]["amount"] == "18000"


def test_an_evotor_owned_name_edited_in_vk_is_overwritten_after_a_warning(published):
    shop = published
    edit_through_api(shop, "coffee", name="Кофе из ВКонтакте")
    read_vk_catalog(shop)

    plan = sync_run_preview(user=shop.user)
    (warned,) = plan.vk_edits_overwritten
    assert warned.overwrites == ["name"]
    assert warned.changes["name"] == ["Кофе из ВКонтакте", "Кофе молотый"]

    assert shop.sync().status == RunStatus.SUCCEEDED
    assert shop.vk_item("coffee")["title"] == "Кофе молотый"
    assert link_of(shop, "coffee").vk_edits == {}  # the edit is overwritten: no longer there
    read_vk_catalog(shop)
    assert link_of(shop, "coffee").vk_edits == {}
    before = shop.write_calls()
    assert shop.sync().total == 0
    assert shop.write_calls() == before


def test_a_photo_replaced_in_vk_stays_when_vk_owns_photos_and_is_put_back_when_evotor_does(
    published,
):
    shop = published
    shop.configure(photos_owner=FieldOwner.VK)
    item = shop.vk.edit_item(VK_GROUP, shop.vk_item("juice")["id"], new_photo=True)
    vk_photo = item["photos"][0]["id"]
    read_vk_catalog(shop)
    assert link_of(shop, "juice").vk_edits == {"photo": vk_photo}

    before = shop.write_calls()
    assert shop.sync().total == 0
    assert shop.write_calls() == before
    assert shop.vk_item("juice")["photos"][0]["id"] == vk_photo

    shop.configure(photos_owner=FieldOwner.EVOTOR)  # switched back: Evotor's photo returns
    plan = sync_run_preview(user=shop.user)
    (warned,) = plan.vk_edits_overwritten
    assert warned.overwrites == ["photo"]
    assert shop.sync().status == RunStatus.SUCCEEDED
    assert shop.vk_item("juice")["photos"][0]["id"] != vk_photo
    assert link_of(shop, "juice").vk_edits == {}


def test_an_item_moved_out_of_its_album_in_vk_stays_out_when_vk_owns_albums(published):
    shop = published
    shop.configure(albums_owner=FieldOwner.VK)
    # Through the sandbox's HTTP control, as a person tries it with `make run` (README).
    control = django_settings.VK_API_URL.removesuffix("/method") + "/_control/edit_item"
    answer = requests.post(
        control,
        json={"group_id": VK_GROUP, "item_id": shop.vk_item("bun")["id"], "album_ids": []},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    read_vk_catalog(shop)
    before = shop.write_calls()
    assert shop.sync().total == 0
    assert shop.write_calls() == before
    assert shop.vk_item("bun")["albums_ids"] == []

    shop.configure(albums_owner=FieldOwner.EVOTOR)
    assert shop.sync().status == RunStatus.SUCCEEDED
    assert len(shop.vk_item("bun")["albums_ids"]) == 1


def test_a_vk_owned_name_is_set_once_at_creation_and_never_again(shop):
    shop.configure(name_owner=FieldOwner.VK)
    assert shop.sync().status == RunStatus.SUCCEEDED
    assert shop.vk_item("pie")["title"] == "Пирожок с капустой"
    shop.set("pie", name="Пирожок с капустой и яйцом")
    assert shop.refresh_and_sync().status == RunStatus.SUCCEEDED
    item = shop.vk_item("pie")
    assert item["title"] == "Пирожок с капустой"
    # The description EvoSync generates from the name is Evotor's, and follows it.
    assert item["description"].startswith("Пирожок с капустой и яйцом")


def test_the_dry_run_names_the_fields_it_keeps_and_the_edits_it_overwrites(published):
    from tests.sync_engine.test_command import run_command

    shop = published
    shop.configure(description_owner=FieldOwner.VK)
    edit_through_api(shop, "tea", description=POLISHED)
    edit_through_api(shop, "coffee", name="Кофе из ВКонтакте")
    read_vk_catalog(shop)
    before = shop.write_calls()
    out, _ = run_command("--user", shop.user.email, "--dry-run")
    assert "= keep as in VK Чай чёрный листовой: description (edited_in_vk)" in out
    assert "Edits in VK: 1 items were edited in VK" in out
    assert "[overwrites the edit in VK: name]" in out
    assert shop.write_calls() == before
