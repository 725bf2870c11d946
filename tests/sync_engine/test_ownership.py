"""Field ownership over plain data: what a run leaves alone, overwrites or sends back, and how
the VK catalog read's comparison records edits made in VK (no database, no VK)."""

from dataclasses import replace
from decimal import Decimal

from sync.models import RunAction
from sync.plan.ownership import KEPT_EDITED_IN_VK, KEPT_VK_OWNED
from sync.plan.photos import PhotoMark
from sync.plan.planner import build_plan
from sync.plan.rules import PhotoSource, RuleSettings
from sync.plan.snapshots import AlbumSnapshot, VkItemSnapshot
from sync.vk_edits import LinkView, VkView, edits_seen
from tests.sync_engine.test_planner import ALBUM, PHOTO, SETTINGS, desired, product, published_link

VK_OWNS_ALL = replace(SETTINGS, vk_owned=frozenset({"name", "description", "photo", "albums"}))
NEW_PHOTO = PhotoSource("evotor", "evotor:img2", "http://x/2.png")
OTHER_ALBUM = AlbumSnapshot(vk_album_id=8, title="Выпечка", group_keys=(("S", "G2"),))


def plan_for(new, link, settings=SETTINGS):
    return build_plan(desired=[new], links=[link], settings=settings, albums=[ALBUM, OTHER_ALBUM])


def test_vk_owned_name_and_description_are_never_sent_after_the_first_publish():
    (old,) = desired(product("p1"))
    (new,) = desired(product("p1", name="Чай зелёный", description="Новый текст из Эвотора"))
    plan = plan_for(new, published_link(old, vk_id=11), VK_OWNS_ALL)
    assert plan.is_empty
    (kept,) = plan.kept_in_vk
    assert kept.fields == {"name": KEPT_VK_OWNED, "description": KEPT_VK_OWNED}


def test_price_is_still_sent_when_vk_owns_every_field_it_can():
    (old,) = desired(product("p1"))
    (new,) = desired(product("p1", name="Чай зелёный", price="120"))
    (item,) = plan_for(new, published_link(old, vk_id=11), VK_OWNS_ALL).items
    assert item.action == RunAction.UPDATE
    assert item.send_fields == {"price": "120"}


def test_vk_owned_photo_is_not_uploaded_again_when_evotor_changes_it():
    (old,) = desired(product("p1"))
    (new,) = desired(product("p1"), photo=NEW_PHOTO)
    plan = plan_for(new, published_link(old, vk_id=11), VK_OWNS_ALL)
    assert plan.is_empty
    assert plan.kept_in_vk[0].fields == {"photo": KEPT_VK_OWNED}


def test_vk_owned_albums_stay_when_the_product_moves_group():
    (old,) = desired(product("p1"))
    (new,) = desired(product("p1", group_id="G2", group_name="Выпечка"))
    plan = plan_for(new, published_link(old, vk_id=11), VK_OWNS_ALL)
    assert plan.is_empty
    assert plan.kept_in_vk[0].fields == {"albums": KEPT_VK_OWNED}


def test_an_edit_in_vk_of_a_vk_owned_field_is_left_alone_and_said_why():
    (item,) = desired(product("p1"))
    link = published_link(item, vk_id=11, vk_edits={"description": "Правка во ВКонтакте"})
    link = replace(
        link, published_fields={**link.published_fields, "description": "Правка во ВКонтакте"}
    )
    plan = plan_for(item, link, VK_OWNS_ALL)
    assert plan.is_empty
    assert plan.kept_in_vk[0].fields == {"description": KEPT_EDITED_IN_VK}


def test_an_edit_in_vk_of_an_evotor_owned_field_is_overwritten_with_a_warning():
    (item,) = desired(product("p1"))
    link = published_link(item, vk_id=11, vk_edits={"name": "Чай из ВК"})
    link = replace(link, published_fields={**link.published_fields, "name": "Чай из ВК"})
    plan = plan_for(item, link)
    (planned,) = plan.items
    assert planned.send_fields == {"name": item.fields["name"]}
    assert planned.changes["name"] == ["Чай из ВК", item.fields["name"]]
    assert planned.overwrites == ["name"]
    assert plan.vk_edits_overwritten == [planned]
    assert plan.kept_in_vk == []


def test_a_field_switched_back_to_evotor_gets_evotors_value():
    (old,) = desired(product("p1", description="Ароматный чай к завтраку"))
    (new,) = desired(product("p1", name="Чай зелёный", description="Ароматный чай к завтраку"))
    link = published_link(old, vk_id=11)
    assert plan_for(new, link, VK_OWNS_ALL).is_empty
    (planned,) = plan_for(new, link).items
    assert planned.send_fields == {"name": "Чай зелёный"}


def test_a_photo_replaced_in_vk_is_uploaded_again_only_when_evotor_owns_it():
    (item,) = desired(product("p1"))
    link = replace(
        published_link(item, vk_id=11, vk_edits={"photo": 555}),
        photo_hash=PhotoMark.EDITED_IN_VK,
    )
    (planned,) = plan_for(item, link).items
    assert planned.photo == PHOTO and planned.overwrites == ["photo"]
    assert plan_for(item, link, VK_OWNS_ALL).is_empty


def test_an_item_taken_out_of_its_album_in_vk_goes_back_only_when_evotor_owns_albums():
    (item,) = desired(product("p1"))
    link = published_link(item, vk_id=11, album_ids=(), vk_edits={"albums": []})
    (planned,) = plan_for(item, link).items
    assert planned.album_add == "Напитки" and planned.overwrites == ["albums"]
    plan = plan_for(item, link, VK_OWNS_ALL)
    assert plan.is_empty
    assert plan.kept_in_vk[0].fields == {"albums": KEPT_EDITED_IN_VK}


def test_a_new_item_gets_every_field_even_when_vk_owns_them():
    (item,) = desired(product("p1"), settings=VK_OWNS_ALL)
    plan = build_plan(desired=[item], links=[], settings=VK_OWNS_ALL)
    (planned,) = plan.items
    assert planned.action == RunAction.CREATE
    assert planned.send_fields["name"] == item.fields["name"]
    assert planned.photo == PHOTO and planned.album_add == "Напитки"


def test_an_adopted_item_keeps_its_vk_owned_name_and_is_not_put_in_an_album():
    (item,) = desired(product("p1", barcodes=("4600000000017",)))
    vk = VkItemSnapshot(
        vk_id=77,
        title="Чай чёрный (наш лучший)",
        sku="4600000000017",
        description="Описание из ВКонтакте, длинное",
        price=Decimal("100"),
        category_id=40099,
    )
    plan = build_plan(desired=[item], links=[], settings=VK_OWNS_ALL, vk_items=[vk])
    (planned,) = plan.items
    assert planned.action == RunAction.ADOPT
    assert "name" not in planned.send_fields and "description" not in planned.send_fields
    assert planned.album_add == ""
    assert plan.kept_in_vk[0].fields == {"name": KEPT_VK_OWNED, "description": KEPT_VK_OWNED}


# --- The VK catalog read's comparison --------------------------------------------------------
PUBLISHED = {"name": "Чай чёрный", "description": "Ароматный чай", "price": "100", "hidden": False}


def link_view(**extra):
    values = dict(
        published_fields=dict(PUBLISHED),
        album_ids=[7],
        photo_hash="abc",
        vk_photo_id=900,
        vk_edits={},
    )
    values.update(extra)
    return LinkView(**values)


def vk_view(**extra):
    values = dict(
        title="Чай чёрный",
        description="Ароматный чай",
        price=Decimal("100.00"),
        old_price=None,
        main_photo_id=900,
        album_ids=(7, 3),
    )
    values.update(extra)
    return VkView(**values)


def test_vk_showing_what_was_published_is_no_edit():
    assert edits_seen(link_view(), vk_view(), managed_albums={7, 8}) == link_view()


def test_line_endings_and_trailing_spaces_vk_may_add_are_no_edit():
    published = {**PUBLISHED, "description": "Ароматный чай.\nЗаваривать 3 минуты."}
    vk = vk_view(description="Ароматный чай.  \r\nЗаваривать 3 минуты.\n")
    assert edits_seen(link_view(published_fields=published), vk, managed_albums={7}).vk_edits == {}


def test_a_description_edited_in_vk_is_recorded_and_becomes_the_published_value():
    seen = edits_seen(link_view(), vk_view(description="Лучший чай"), managed_albums={7})
    assert seen.vk_edits == {"description": "Лучший чай"}
    assert seen.published_fields["description"] == "Лучший чай"


def test_an_edit_stays_recorded_while_vk_shows_it_and_goes_once_overwritten():
    first = edits_seen(link_view(), vk_view(title="Чай из ВК"), managed_albums={7})
    again = edits_seen(first, vk_view(title="Чай из ВК"), managed_albums={7})
    assert again.vk_edits == {"name": "Чай из ВК"}
    # The run sent Evotor's name back: the link says so, and so does VK.
    overwritten = replace(again, published_fields=dict(PUBLISHED))
    assert edits_seen(overwritten, vk_view(), managed_albums={7}).vk_edits == {}


def test_a_photo_replaced_in_vk_marks_the_link():
    seen = edits_seen(link_view(), vk_view(main_photo_id=901), managed_albums={7})
    assert seen.vk_edits == {"photo": 901}
    assert seen.photo_hash == PhotoMark.EDITED_IN_VK and seen.vk_photo_id == 901


def test_albums_and_price_edited_in_vk_are_recorded():
    seen = edits_seen(
        link_view(), vk_view(album_ids=(3,), price=Decimal("90")), managed_albums={7, 8}
    )
    assert seen.vk_edits == {"albums": [], "price": ["90", None]}
    assert seen.album_ids == [] and seen.published_fields["price"] == "90"


def test_the_merchants_own_photo_on_an_adopted_item_is_never_an_edit():
    seen = edits_seen(
        link_view(photo_hash=PhotoMark.KEEP_VK, vk_photo_id=None),
        vk_view(main_photo_id=5),
        managed_albums={7},
    )
    assert seen.vk_edits == {}


def test_rule_settings_read_ownership_from_the_merchants_settings():
    from sync.models import FieldOwner, SyncSettings

    model = SyncSettings(description_owner=FieldOwner.VK, photos_owner=FieldOwner.VK)
    assert RuleSettings.from_model(model).vk_owned == frozenset({"description", "photo"})
