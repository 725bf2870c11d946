"""The planner over plain data: what a run would do, item by item (no database, no VK)."""

from decimal import Decimal

from sync.models import RunAction
from sync.plan import plan as plan_module
from sync.plan.planner import build_plan, guard_holds
from sync.plan.rules import PhotoSource, RuleSettings, SourceProduct, desired_item
from sync.plan.snapshots import AlbumSnapshot, LinkSnapshot, VkItemSnapshot

SETTINGS = RuleSettings(category_id=40099)
PHOTO = PhotoSource("evotor", "evotor:img", "http://x/1.png")


def product(pid, name="Чай чёрный", price="100", **extra):
    values = dict(
        store_id="S",
        product_id=pid,
        name=name,
        price=Decimal(price),
        measure_name="шт",
        article_number=f"A-{pid}",
        quantity=Decimal(5),
        group_id="G1",
        group_name="Напитки",
    )
    values.update(extra)
    return SourceProduct(**values)


def desired(*products, settings=SETTINGS, photo=PHOTO):
    return [desired_item(p, settings, photo=photo) for p in products]


def published_link(item, *, vk_id, link_id=1, hidden=False, album_ids=(7,), **extra):
    return LinkSnapshot(
        id=link_id,
        store_id=item.store_id,
        product_id=item.product_id,
        vk_item_id=vk_id,
        sku=item.fields["sku"],
        state="hidden" if hidden else "published",
        album_ids=album_ids,
        published_fields={**item.fields, "hidden": hidden},
        photo_hash=item.photo.photo_hash if item.photo else "",
        product_name=item.product_name,
        **extra,
    )


ALBUM = AlbumSnapshot(vk_album_id=7, title="Напитки", group_keys=(("S", "G1"),))


def test_new_products_are_created_with_their_album_to_make():
    plan = build_plan(desired=desired(product("p1"), product("p2")), links=[], settings=SETTINGS)
    assert plan.counts["create"] == 2
    assert [a.title for a in plan.albums_to_create] == ["Напитки"]
    item = plan.items[0]
    assert item.send_fields["sku"] == "A-p1" and item.photo == PHOTO
    assert item.album_add == "Напитки"


def test_nothing_changed_means_an_empty_plan():
    (item,) = desired(product("p1"))
    plan = build_plan(
        desired=[item], links=[published_link(item, vk_id=11)], settings=SETTINGS, albums=[ALBUM]
    )
    assert plan.is_empty
    assert plan.unchanged == 1


def test_update_sends_only_the_changed_fields_with_old_and_new():
    (old,) = desired(product("p1"))
    (new,) = desired(product("p1", price="120"))
    plan = build_plan(
        desired=[new], links=[published_link(old, vk_id=11)], settings=SETTINGS, albums=[ALBUM]
    )
    (item,) = plan.items
    assert item.action == RunAction.UPDATE
    assert item.send_fields == {"price": "120"}
    assert item.changes == {"price": ["100", "120"]}


def test_price_compares_as_a_number():
    (old,) = desired(product("p1", price="100"))
    link = published_link(old, vk_id=11)
    link.published_fields["price"] = "100.00"
    plan = build_plan(
        desired=desired(product("p1")), links=[link], settings=SETTINGS, albums=[ALBUM]
    )
    assert plan.is_empty


def test_out_of_stock_hides_and_back_in_stock_restores():
    (shown,) = desired(product("p1"))
    (gone,) = desired(product("p1", quantity=Decimal(0)))
    plan = build_plan(
        desired=[gone], links=[published_link(shown, vk_id=11)], settings=SETTINGS, albums=[ALBUM]
    )
    (item,) = plan.items
    assert item.action == RunAction.HIDE and item.set_hidden is True
    assert item.reason == plan_module.REASON_OUT_OF_STOCK
    plan = build_plan(
        desired=[shown],
        links=[published_link(shown, vk_id=11, hidden=True)],
        settings=SETTINGS,
        albums=[ALBUM],
    )
    (item,) = plan.items
    assert item.action == RunAction.RESTORE and item.set_hidden is False


def test_removed_products_are_hidden_or_deleted_by_policy():
    (item,) = desired(product("p1"))
    link = published_link(item, vk_id=11)
    hide = build_plan(desired=[], links=[link], settings=SETTINGS, removed_keys={("S", "p1")})
    assert hide.items[0].action == RunAction.HIDE
    assert hide.items[0].reason == plan_module.REASON_REMOVED
    delete = build_plan(
        desired=[], links=[link], settings=RuleSettings(category_id=1, removal_policy="delete")
    )
    assert delete.items[0].action == RunAction.DELETE
    assert delete.items[0].reason == plan_module.REASON_FILTERED


def test_links_never_published_are_dropped_quietly_when_the_product_goes():
    link = LinkSnapshot(
        id=5, store_id="S", product_id="p9", vk_item_id=None, sku="x", state="failed"
    )
    plan = build_plan(desired=[], links=[link], settings=SETTINGS)
    assert plan.links_to_drop == [5] and plan.is_empty


def test_moving_to_another_group_changes_album_membership():
    (old,) = desired(product("p1"))
    (moved,) = desired(product("p1", group_id="G2", group_name="Выпечка"))
    albums = [ALBUM, AlbumSnapshot(8, "Выпечка", (("S", "G2"),))]
    plan = build_plan(
        desired=[moved], links=[published_link(old, vk_id=11)], settings=SETTINGS, albums=albums
    )
    (item,) = plan.items
    assert item.action == RunAction.UPDATE
    assert item.album_add == "Выпечка" and item.album_remove == [7]


def test_renamed_group_renames_its_album():
    (item,) = desired(product("p1", group_name="Чай и кофе"))
    plan = build_plan(
        desired=[item], links=[published_link(item, vk_id=11)], settings=SETTINGS, albums=[ALBUM]
    )
    assert [(r.old_title, r.new_title) for r in plan.album_renames] == [("Напитки", "Чай и кофе")]
    assert plan.items == []


def test_flagged_items_are_skipped_with_reasons():
    plan = build_plan(
        desired=desired(product("p1", name="Ok", measure_name=""), photo=None),
        links=[],
        settings=SETTINGS,
    )
    (item,) = plan.items
    assert item.skipped and set(item.flags) == {"name_too_short", "no_photo"}
    assert plan.counts["skipped"] == 1 and plan.counts["create"] == 0


def test_first_sync_adopts_by_sku_and_asks_about_a_name_and_shows_the_changes():
    items = desired(
        product("p1", article_number="TEA-2024-BLK"),
        product("p2", name="Кофе молотый"),
        product("p3", name="Сок"),
    )
    vk = [
        VkItemSnapshot(
            vk_id=101,
            title="Чай чёрный (старое имя)",
            sku="TEA-2024-BLK",
            price=Decimal(90),
            description="Мой текст",
        ),
        VkItemSnapshot(
            vk_id=102, title="кофе молотый", sku="", price=Decimal(100), description="Кофе"
        ),
        VkItemSnapshot(
            vk_id=103, title="Чужой товар", sku="X", price=Decimal(1), description="Другое"
        ),
    ]
    plan = build_plan(desired=items, links=[], settings=SETTINGS, vk_items=vk)
    adopted = {item.product_id: item for item in plan.adoptions}
    assert set(adopted) == {"p1"} and adopted["p1"].vk_item_id == 101
    assert [(r.desired.product_id, r.vk.vk_id, r.evidence) for r in plan.adoption_reviews] == [
        ("p2", 102, "name")
    ]
    # The merchant's own description stays: ours would only be generated.
    assert "description" not in adopted["p1"].send_fields
    assert adopted["p1"].changes["price"] == ["90", "100"]
    assert plan.counts["adopt"] == 1 and plan.counts["create"] == 1
    assert plan.counts["adoption_reviews"] == 1


def test_an_ambiguous_name_is_not_adopted():
    items = desired(
        product("p1", name="Чай", article_number=""), product("p2", name="Чай", article_number="")
    )
    vk = [VkItemSnapshot(vk_id=101, title="Чай, шт")]
    plan = build_plan(desired=items, links=[], settings=SETTINGS, vk_items=vk)
    assert plan.adoptions == [] and plan.adoption_reviews == []


def test_an_existing_vk_album_of_the_same_title_is_adopted():
    plan = build_plan(
        desired=desired(product("p1")),
        links=[],
        settings=SETTINGS,
        vk_albums=[AlbumSnapshot(55, "напитки")],
    )
    (album,) = plan.albums_to_create
    assert album.adopt_vk_album_id == 55
    assert plan.counts["albums_to_create"] == 0


def test_removal_guard_holds_a_run_removing_more_than_its_share():
    assert not guard_holds(removals=1, published=2, percent=20)
    assert not guard_holds(removals=2, published=10, percent=20)
    assert guard_holds(removals=3, published=10, percent=20)
    items = desired(*[product(f"p{i}") for i in range(10)])
    links = [published_link(item, vk_id=100 + i, link_id=i) for i, item in enumerate(items)]
    plan = build_plan(desired=items[:7], links=links, settings=SETTINGS, albums=[ALBUM])
    assert plan.removals == 3 and plan.guard_held
    confirmed = build_plan(
        desired=items[:7], links=links, settings=SETTINGS, albums=[ALBUM], confirmed_removals=3
    )
    assert not confirmed.guard_held
    bigger = build_plan(
        desired=items[:5], links=links, settings=SETTINGS, albums=[ALBUM], confirmed_removals=3
    )
    assert bigger.guard_held
