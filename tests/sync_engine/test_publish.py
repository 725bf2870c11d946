"""Publishing against the sandboxes: products from the till appear in VK, and stay right."""

from decimal import Decimal

import pytest

from sync.adoptions import adoption_decide
from sync.models import (
    AdoptionVerdict,
    AlbumLink,
    ItemLink,
    LinkState,
    RemovalPolicy,
    RunStatus,
    StopCause,
    SyncRunItem,
)
from sync.plan.preview import sync_run_preview

from .conftest import VK_GROUP


def test_first_publish_creates_every_selected_product_with_photo_album_and_link(shop):
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.created == 5 and run.failed == 0 and run.done == run.total == 5
    items = shop.vk_items()
    assert len(items) == 5
    by_title = {item["title"]: item for item in items}
    coffee = by_title["Кофе молотый"]
    assert coffee["price"]["amount"] == "34990"
    assert coffee["sku"] == "ART-coffee"
    assert all(item["photos"] for item in items), "every item has its own photo"
    photo_ids = [item["photos"][0]["id"] for item in items]
    assert len(set(photo_ids)) == 5
    albums = {album["title"]: album for album in shop.vk.albums(VK_GROUP)}
    assert set(albums) == {"Напитки", "Выпечка"}
    assert albums["Выпечка"]["count"] == 2
    links = ItemLink.objects.filter(user=shop.user)
    assert links.count() == 5
    assert all(link.vk_item_id and link.state == LinkState.PUBLISHED for link in links)
    assert all(link.album_ids for link in links)
    assert SyncRunItem.objects.filter(run=run, status="ok", action="create").count() == 5
    assert run.vk_requests >= 2 and run.finished_at and run.duration.total_seconds() >= 0


def test_a_resync_with_nothing_changed_makes_no_vk_write_call(shop):
    shop.sync()
    before = shop.write_calls()
    run = shop.refresh_and_sync()
    assert run.status == RunStatus.SUCCEEDED
    assert shop.write_calls() == before
    assert run.total == 0 and run.vk_requests == 0


def test_hundred_price_changes_take_at_most_four_write_requests(shop, default_photo_path):
    for n in range(95):
        shop.add(f"p{n}", f"Товар номер {n}", image=False, price=100 + n)
    shop.refresh()
    shop.sync()
    for key in list(shop.products)[:100]:
        product = shop.evotor.product(shop.store_id, shop.products[key])
        shop.set(key, price=str(Decimal(str(product["price"])) + 1))
    shop.refresh()
    requests_before = sum(shop.vk.stats()["requests_by_method"].values())
    run = shop.sync()
    requests = sum(shop.vk.stats()["requests_by_method"].values()) - requests_before
    assert run.updated == 100, run.error
    assert requests <= 4
    assert shop.vk.stats()["calls_by_method"]["market.edit"] == 100


def test_vk_follows_a_rename_a_new_price_a_move_and_stock(shop):
    shop.configure(removal_guard_percent=50)  # two of five go out of stock
    shop.sync()
    shop.set("tea", name="Чай зелёный")
    shop.set("coffee", price="399")
    shop.set("juice", parent_id=shop.groups["Выпечка"])
    shop.set("bun", quantity=0)
    shop.set("pie", allow_to_sell=False)
    run = shop.refresh_and_sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.updated, run.hidden) == (3, 2)
    assert shop.vk_item("tea")["title"] == "Чай зелёный"
    assert shop.vk_item("coffee")["price"]["amount"] == "39900"
    albums = {a["id"]: a["title"] for a in shop.vk.albums(VK_GROUP)}
    assert [albums[a] for a in shop.vk_item("juice")["albums_ids"]] == ["Выпечка"]
    assert shop.vk_item("bun")["availability"] == 2  # hidden, not deleted
    assert shop.vk_item("pie")["availability"] == 2
    # Back in stock: shown again.
    shop.set("bun", quantity=3)
    run = shop.refresh_and_sync()
    assert run.restored == 1
    assert shop.vk_item("bun")["availability"] == 0


def test_a_product_removed_at_the_till_is_hidden_then_deleted_by_policy(shop):
    shop.sync()
    shop.remove("pie")
    run = shop.refresh_and_sync()
    assert run.hidden == 1
    assert shop.vk_item("pie")["availability"] == 2
    shop.configure(removal_policy=RemovalPolicy.DELETE)
    run = shop.sync()
    assert run.deleted == 1
    assert shop.vk_item("pie")["availability"] == 1
    link = ItemLink.objects.get(user=shop.user, product_id=shop.products["pie"])
    assert link.state == LinkState.DELETED


def test_a_deleted_item_comes_back_with_its_product(shop):
    shop.configure(removal_policy=RemovalPolicy.DELETE, removal_guard_percent=50)
    shop.sync()
    shop.set("pie", allow_to_sell=False)
    shop.refresh()
    # Filtered out (switch the group off) → deleted; switched on again → restored.
    from catalog.filters import sync_filter_set
    from catalog.models import SyncFilter

    sync_filter_set(
        user=shop.user,
        entity_type=SyncFilter.EntityType.GROUP,
        entity_id=shop.groups["Выпечка"],
        parent_entity_id=shop.store_id,
        enabled=False,
    )
    run = shop.sync()
    assert run.deleted == 2
    sync_filter_set(
        user=shop.user,
        entity_type=SyncFilter.EntityType.GROUP,
        entity_id=shop.groups["Выпечка"],
        parent_entity_id=shop.store_id,
        enabled=True,
    )
    shop.set("pie", allow_to_sell=True)
    run = shop.refresh_and_sync()
    assert run.restored == 2, run.error
    assert shop.vk_item("pie")["availability"] == 0
    assert len(shop.vk_items()) == 5


def test_hand_made_vk_items_with_the_same_sku_are_adopted_not_duplicated(shop):
    made = shop.vk.add_item(
        VK_GROUP,
        title="Чай чёрный (сделан вручную)",
        sku="ART-tea",
        price=10,
        with_photo=True,
        description="Мой собственный текст о чае.",
    )
    by_name = shop.vk.add_item(VK_GROUP, title="Кофе молотый", price=10, with_photo=True)
    plan = sync_run_preview(user=shop.user)
    assert plan.adoption_checked
    adopted = {item.product_id: item.vk_item_id for item in plan.adoptions}
    # A distinctive sku and a similar name adopt at once; the same name alone waits for the
    # merchant, and the product is neither adopted nor created meanwhile.
    assert adopted == {shop.products["tea"]: made["id"]}
    assert [(r.desired.product_id, r.vk.vk_id) for r in plan.adoption_reviews] == [
        (shop.products["coffee"], by_name["id"])
    ]
    adoption_decide(
        user=shop.user,
        store_id=shop.store_id,
        product_id=shop.products["coffee"],
        vk_item_id=by_name["id"],
        verdict=AdoptionVerdict.CONFIRMED,
    )
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.adopted, run.created) == (2, 3)
    assert len(shop.vk_items()) == 5
    tea = shop.vk_item("tea")
    assert tea["id"] == made["id"]
    assert tea["title"] == "Чай чёрный листовой" and tea["price"]["amount"] == "15000"
    assert tea["description"] == "Мой собственный текст о чае."  # Evotor has none: theirs stays
    assert SyncRunItem.objects.filter(run=run, action="adopt").count() == 2
    assert ItemLink.objects.get(vk_item_id=made["id"]).adopted


def test_a_rejected_match_gets_a_new_item_and_leaves_the_vk_item_alone(shop):
    theirs = shop.vk.add_item(VK_GROUP, title="Кофе молотый", price=10, with_photo=True)
    sync_run_preview(user=shop.user)
    adoption_decide(
        user=shop.user,
        store_id=shop.store_id,
        product_id=shop.products["coffee"],
        vk_item_id=theirs["id"],
        verdict=AdoptionVerdict.REJECTED,
    )
    assert sync_run_preview(user=shop.user).adoption_reviews == []
    run = shop.sync()
    assert (run.adopted, run.created) == (0, 5), run.error
    assert len(shop.vk_items()) == 6
    assert not ItemLink.objects.filter(vk_item_id=theirs["id"]).exists()


def test_a_match_waiting_for_review_is_neither_adopted_nor_created(shop):
    theirs = shop.vk.add_item(VK_GROUP, title="Кофе молотый", price=10, with_photo=True)
    run = shop.sync()
    assert (run.adopted, run.created) == (0, 4), run.error
    assert not ItemLink.objects.filter(
        product_id=shop.products["coffee"], vk_item_id__isnull=False
    ).exists()
    assert len(shop.vk_items()) == 5 and theirs["id"] in {i["id"] for i in shop.vk_items()}


def test_an_item_vk_rejects_is_recorded_with_vks_message_and_retried(shop):
    shop.vk.fail(100, method="market.add", count=1, message="name contains forbidden words")
    run = shop.sync()
    assert run.status == RunStatus.PARTIAL
    assert (run.created, run.failed) == (4, 1)
    failed = SyncRunItem.objects.get(run=run, status="failed")
    assert "forbidden words" in failed.error and "(100)" in failed.error
    link = ItemLink.objects.get(pk=failed.link_id)
    assert link.state == LinkState.FAILED and "forbidden words" in link.last_error
    assert run.error
    run = shop.sync()
    assert (run.status, run.created) == (RunStatus.SUCCEEDED, 1)
    assert len(shop.vk_items()) == 5
    link.refresh_from_db()
    assert link.state == LinkState.PUBLISHED and link.last_error == ""


def test_an_item_vk_would_refuse_is_flagged_in_the_plan_and_skipped(shop):
    shop.add("ok", "Ок", measure_name="")
    shop.refresh()
    plan = sync_run_preview(user=shop.user)
    (flagged,) = plan.flagged
    assert flagged.flags == ["name_too_short"]
    run = shop.sync()
    assert (run.created, run.skipped) == (5, 1)
    assert SyncRunItem.objects.get(run=run, status="skipped").error == "name_too_short"


def test_a_product_without_any_photo_is_skipped_and_flagged_next_time(shop):
    shop.add("nophoto", "Товар без фото", image=False)
    shop.refresh()
    run = shop.sync()
    assert (run.created, run.skipped) == (5, 1)
    plan = sync_run_preview(user=shop.user)
    assert [item.flags for item in plan.flagged] == [["no_photo"]]


def test_the_default_photo_lets_products_without_one_through(shop, default_photo_path):
    shop.add("nophoto", "Товар без фото", image=False)
    shop.refresh()
    run = shop.sync()
    assert (run.created, run.skipped) == (6, 0)


def test_the_removal_guard_holds_the_run_until_the_merchant_confirms(
    shop, django_capture_on_commit_callbacks
):
    shop.sync()
    for key in ("bun", "pie"):
        shop.remove(key)
    run = shop.refresh_and_sync()
    assert run.status == RunStatus.HELD and run.stop_cause == StopCause.REMOVAL_GUARD
    assert "2" in run.error
    assert shop.user.sync_alerts.filter(cause="removal_guard", resolved_at=None).exists()
    assert all(item["availability"] == 0 for item in shop.vk_items())
    from sync.lifecycle import sync_run_confirm_held

    with django_capture_on_commit_callbacks(execute=True):
        sync_run_confirm_held(run=run)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.hidden == 2
    assert not shop.user.sync_alerts.filter(cause="removal_guard", resolved_at=None).exists()


def test_albums_are_made_once_and_reused(shop):
    shop.sync()
    shop.add("cake", "Торт медовый", group="Выпечка")
    run = shop.refresh_and_sync()
    assert (run.created, run.albums_created) == (1, 0)
    assert len(shop.vk.albums(VK_GROUP)) == 2
    assert AlbumLink.objects.filter(user=shop.user).count() == 2


@pytest.mark.parametrize("naive", [False, True])
def test_the_naive_transport_publishes_the_same(shop, naive):
    from sync.lifecycle import sync_run_create
    from sync.publish.run import sync_run_execute

    run = sync_run_execute(run=sync_run_create(user=shop.user), naive=naive)
    assert run.created == 5
    assert len(shop.vk_items()) == 5


def test_a_new_photo_at_the_till_replaces_the_item_photo(shop, default_photo_path):
    shop.add("cake", "Торт медовый", group="Выпечка", image=False)
    shop.refresh()
    shop.sync()
    before = shop.vk_item("cake")["photos"][0]["id"]
    shop.set("cake", image=True)
    run = shop.refresh_and_sync()
    assert run.updated == 1, run.error
    item = shop.vk_item("cake")
    assert item["photos"][0]["id"] != before
    change = SyncRunItem.objects.get(run=run)
    assert change.changes["photo"][1] == "evotor"
    assert shop.refresh_and_sync().total == 0  # and it stays put


def test_a_photo_uploaded_here_replaces_the_default_one(shop, default_photo_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from sync.models import ProductPhoto

    from .conftest import png_bytes

    shop.add("cake", "Торт медовый", group="Выпечка", image=False)
    shop.refresh()
    shop.sync()
    ProductPhoto.objects.create(
        user=shop.user,
        store_id=shop.store_id,
        entity_type="product",
        entity_id=shop.products["cake"],
        image=SimpleUploadedFile("cake.png", png_bytes(color=(10, 200, 10))),
    )
    run = shop.sync()
    assert run.updated == 1
    assert SyncRunItem.objects.get(run=run).changes["photo"][1] == "product_photo"


def test_an_item_deleted_by_hand_in_vk_is_made_again(shop):
    shop.sync()
    shop.set("tea", price=155)
    shop.refresh()
    link = ItemLink.objects.get(user=shop.user, product_id=shop.products["tea"])
    with shop.vk._lock:
        shop.vk.api.groups[VK_GROUP].items[link.vk_item_id].availability = 1
    run = shop.sync()
    assert run.failed == 1
    assert "(1403)" in SyncRunItem.objects.get(run=run, status="failed").error
    run = shop.sync()
    assert run.created == 1
    assert shop.vk_item("tea")["price"]["amount"] == "15500"
    assert len(shop.vk_items()) == 5


def test_out_of_stock_items_stay_shown_when_the_merchant_keeps_them(shop):
    shop.configure(out_of_stock_policy="keep")
    shop.set("bun", quantity=0)
    shop.refresh()
    shop.sync()
    assert shop.vk_item("bun")["availability"] == 0


def test_price_rules_and_old_price_reach_vk(shop):
    shop.configure(price_markup_percent=10, price_rounding="ten", old_price_percent=20)
    shop.sync()
    price = shop.vk_item("tea")["price"]  # 150 + 10 % = 165 → 170; old price 204 → 210
    assert (price["amount"], price["old_amount"]) == ("17000", "21000")
    shop.configure(old_price_percent=0)
    run = shop.sync()
    assert run.updated == 5
    assert shop.vk_item("tea")["price"].get("old_amount") in (None, "0")


def test_automatic_runs_do_not_pile_up_while_one_waits_for_confirmation(shop):
    from sync import tasks

    shop.sync()
    for key in ("bun", "pie"):
        shop.remove(key)
    shop.refresh()
    assert tasks.sync_user(shop.user.pk)["status"] == RunStatus.HELD
    first = tasks.sync_user(shop.user.pk)
    second = tasks.sync_user(shop.user.pk)
    assert first["run_id"] == second["run_id"]
    from sync.models import SyncRun

    assert SyncRun.objects.filter(user=shop.user, status=RunStatus.HELD).count() == 1


def test_a_category_vk_does_not_know_fails_every_item_with_vks_message_then_recovers(shop):
    shop.configure(vk_category_id=123456)
    run = shop.sync()
    assert run.status == RunStatus.PARTIAL and (run.created, run.failed) == (0, 5)
    errors = set(SyncRunItem.objects.filter(run=run).values_list("error", flat=True))
    assert errors == {
        "One of the parameters specified was missing or invalid: category_id is invalid (100)"
    }
    assert shop.vk_items() == []
    shop.configure(vk_category_id=40002)
    run = shop.sync()
    assert (run.status, run.created) == (RunStatus.SUCCEEDED, 5)
    assert {item["category"]["id"] for item in shop.vk_items()} == {40002}


def test_an_adopted_item_keeps_its_photo_until_one_is_uploaded_here(shop):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from sync.models import ProductPhoto

    from .conftest import png_bytes

    made = shop.vk.add_item(VK_GROUP, title="Чай", sku="ART-tea", price=150, with_photo=True)
    shop.sync()
    shop.set("tea", price=160)
    run = shop.refresh_and_sync()
    assert run.updated == 1
    assert shop.vk_item("tea")["photos"][0]["id"] == made["photos"][0]["id"]
    ProductPhoto.objects.create(
        user=shop.user,
        store_id=shop.store_id,
        entity_type="product",
        entity_id=shop.products["tea"],
        image=SimpleUploadedFile("tea.png", png_bytes()),
    )
    run = shop.sync()
    assert run.updated == 1
    assert shop.vk_item("tea")["photos"][0]["id"] != made["photos"][0]["id"]
