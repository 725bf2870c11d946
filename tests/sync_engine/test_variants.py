"""Products sold in variants (Evotor modification groups) published as one VK product with
variants, through both sandboxes (sync/plan/variants.py, sync/publish/variants.py)."""

import pytest

from sync.models import RunStatus, VariantGroupLink, VkProperty
from sync.plan.preview import sync_run_preview
from sync.plan.variants import NOTE_TOO_MANY_ATTRIBUTES

from .conftest import VK_GROUP

SIZES = ("S", "M", "L")


def add_tees(shop, sizes=SIZES, *, attributes=None):
    attributes = attributes or [
        {
            "id": "attr-size",
            "name": "Размер",
            "choices": [{"id": f"size-{s}", "name": s} for s in ("S", "M", "L", "XL")],
        }
    ]
    shop.groups["Одежда"] = shop.evotor.add_group(shop.store_id, name="Одежда")["id"]
    shop.groups["Футболка"] = shop.evotor.add_group(
        shop.store_id, name="Футболка", parent_id=shop.groups["Одежда"], attributes=attributes
    )["id"]
    for size in sizes:
        add_tee(shop, size)
    shop.refresh()


def add_tee(shop, size):
    shop.add(
        f"tee-{size}",
        f"Футболка хлопковая {size}",
        group="Футболка",
        price=990,
        attributes_choices={"attr-size": f"size-{size}"},
    )


def tees(shop):
    return [shop.vk_item(f"tee-{s}") for s in shop.products if s.startswith("tee-")]


def calls(shop, method):
    return shop.vk.stats()["calls_by_method"].get(method, 0)


def properties(shop):
    return shop.vk.properties(VK_GROUP)


@pytest.fixture
def tee_shop(shop):
    add_tees(shop)
    return shop


def test_a_modification_group_becomes_one_vk_product_with_variants(tee_shop):
    run = tee_shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    items = [tee_shop.vk_item(f"tee-{s}") for s in SIZES]
    grouping = {item.get("variants_grouping_id") for item in items}
    assert len(grouping) == 1 and None not in grouping
    assert sum(1 for item in items if item["is_main_variant"]) == 1
    assert properties(tee_shop) == {"Размер": ["L", "M", "S"]}
    assert calls(tee_shop, "market.addProperty") == 1
    assert calls(tee_shop, "market.addPropertyVariant") == 3
    assert calls(tee_shop, "market.groupItems") == 1
    assert calls(tee_shop, "market.edit") == 0  # the variants rode on market.add
    row = VariantGroupLink.objects.get(user=tee_shop.user)
    assert row.vk_item_group_id in grouping and not row.grouping


def test_a_resync_with_nothing_changed_makes_no_call(tee_shop):
    tee_shop.sync()
    before = tee_shop.write_calls()
    run = tee_shop.refresh_and_sync()
    assert run.status == RunStatus.SUCCEEDED
    assert tee_shop.write_calls() == before
    assert run.vk_requests == 0


def test_a_modification_added_at_the_till_joins_the_group(tee_shop):
    tee_shop.sync()
    grouping = tee_shop.vk_item("tee-S")["variants_grouping_id"]
    add_tee(tee_shop, "XL")
    run = tee_shop.refresh_and_sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert tee_shop.vk_item("tee-XL")["variants_grouping_id"] == grouping
    assert tee_shop.vk_item("tee-S")["variants_grouping_id"] == grouping
    assert calls(tee_shop, "market.addProperty") == 1
    assert properties(tee_shop) == {"Размер": ["L", "M", "S", "XL"]}


def test_a_modification_removed_at_the_till_leaves_the_group_whole(tee_shop):
    tee_shop.sync()
    tee_shop.remove("tee-L")
    run = tee_shop.refresh_and_sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    small, medium = tee_shop.vk_item("tee-S"), tee_shop.vk_item("tee-M")
    assert small["variants_grouping_id"] == medium["variants_grouping_id"] is not None
    assert "variants_grouping_id" not in tee_shop.vk_item("tee-L")
    assert small["is_main_variant"] != medium["is_main_variant"]


def test_a_choice_renamed_at_the_till_renames_the_variant_in_place(tee_shop):
    tee_shop.sync()
    attributes = [
        {
            "id": "attr-size",
            "name": "Размер",
            "choices": [
                {"id": "size-S", "name": "S"},
                {"id": "size-M", "name": "Medium"},
                {"id": "size-L", "name": "L"},
            ],
        }
    ]
    tee_shop.evotor.set_group(tee_shop.store_id, tee_shop.groups["Футболка"], attributes=attributes)
    run = tee_shop.refresh_and_sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    items = [tee_shop.vk_item(f"tee-{s}") for s in SIZES]
    assert len({item["variants_grouping_id"] for item in items}) == 1
    assert "Medium" in properties(tee_shop)["Размер"]
    assert tee_shop.refresh_and_sync().vk_requests == 0


def test_the_main_variant_moves_when_it_runs_out_at_the_till(tee_shop):
    tee_shop.sync()
    main = next(s for s in SIZES if tee_shop.vk_item(f"tee-{s}")["is_main_variant"])
    tee_shop.set(f"tee-{main}", quantity=0)
    run = tee_shop.refresh_and_sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    items = {s: tee_shop.vk_item(f"tee-{s}") for s in SIZES}
    assert not items[main]["is_main_variant"]
    assert sum(1 for item in items.values() if item["is_main_variant"]) == 1
    assert len({item["variants_grouping_id"] for item in items.values()}) == 1


def test_three_attributes_are_published_as_separate_items_and_the_preview_says_so(shop):
    attributes = [
        {"id": f"attr-{n}", "name": name, "choices": [{"id": f"{n}-1", "name": "Один"}]}
        for n, name in enumerate(("Размер", "Цвет", "Рост"))
    ]
    add_tees(shop, sizes=(), attributes=attributes)
    shop.add(
        "tee-1",
        "Футболка необычная",
        group="Футболка",
        attributes_choices={"attr-0": "0-1", "attr-1": "1-1", "attr-2": "2-1"},
    )
    shop.refresh()
    plan = sync_run_preview(user=shop.user)
    (group,) = plan.variants.groups
    assert group.note == NOTE_TOO_MANY_ATTRIBUTES and not group.members
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED
    assert "variants_grouping_id" not in shop.vk_item("tee-1")
    assert not VkProperty.objects.filter(user=shop.user).exists()


def test_a_lost_property_variant_answer_makes_no_duplicate_next_run(tee_shop):
    tee_shop.vk.fail(10, method="market.addPropertyVariant", count=1)
    tee_shop.sync()
    tee_shop.vk.clear_failures()
    run = tee_shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert properties(tee_shop) == {"Размер": ["L", "M", "S"]}
    items = [tee_shop.vk_item(f"tee-{s}") for s in SIZES]
    assert len({item.get("variants_grouping_id") for item in items}) == 1


def test_a_run_killed_after_vk_made_the_property_makes_no_duplicate(tee_shop):
    # The state a kill leaves between the answer of addProperty/addPropertyVariant and its
    # record: VK has them, our rows have no VK id yet ("creating"), no item exists.
    tee_shop.vk.fail(10, method="market.add")
    tee_shop.sync()
    tee_shop.vk.clear_failures()
    assert properties(tee_shop) == {"Размер": ["L", "M", "S"]}
    VkProperty.objects.filter(user=tee_shop.user).update(vk_property_id=None)
    run = tee_shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert calls(tee_shop, "market.addProperty") == 1
    assert calls(tee_shop, "market.addPropertyVariant") == 3
    # One look on the first publish (the merchant's own properties), one to recover.
    assert calls(tee_shop, "market.getProperties") == 2
    items = [tee_shop.vk_item(f"tee-{s}") for s in SIZES]
    assert len({item.get("variants_grouping_id") for item in items}) == 1


def test_a_grouping_whose_answer_was_lost_is_repeated_safely(tee_shop):
    tee_shop.sync()
    VariantGroupLink.objects.filter(user=tee_shop.user).update(vk_item_group_id=None, grouping=True)
    run = tee_shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    items = [tee_shop.vk_item(f"tee-{s}") for s in SIZES]
    grouping = {item.get("variants_grouping_id") for item in items}
    assert len(grouping) == 1 and None not in grouping
    assert VariantGroupLink.objects.get(user=tee_shop.user).vk_item_group_id in grouping
    assert tee_shop.sync().vk_requests == 0


def test_the_vk_catalog_pages_mark_the_variants_of_one_product(tee_shop, client):
    from django.urls import reverse

    from vk_catalog.models import VkCachedProduct
    from vk_catalog.services import vk_catalog_refresh_for_user

    tee_shop.sync()
    vk_catalog_refresh_for_user(user=tee_shop.user)
    rows = VkCachedProduct.objects.filter(user=tee_shop.user, variants_grouping_id__isnull=False)
    assert rows.count() == 3
    assert sum(1 for row in rows if row.is_main_variant) == 1
    client.force_login(tee_shop.user)
    page = client.get(reverse("vk_catalog:products"), HTTP_ACCEPT_LANGUAGE="ru")
    html = page.content.decode()
    assert html.count("data-variant-group=") == 3
    assert html.count("основной вариант") == 1


def test_two_properties_are_made_in_one_request_each_with_its_variants(tee_shop):
    flavour = {
        "id": "attr-flavour",
        "name": "Вкус",
        "choices": [{"id": f"fl-{n}", "name": n} for n in ("Ваниль", "Карамель")],
    }
    tee_shop.groups["Сироп"] = tee_shop.evotor.add_group(
        tee_shop.store_id, name="Сироп", parent_id=tee_shop.groups["Одежда"], attributes=[flavour]
    )["id"]
    for n in ("Ваниль", "Карамель"):
        tee_shop.add(
            f"syrup-{n}",
            f"Сироп {n}",
            group="Сироп",
            attributes_choices={"attr-flavour": f"fl-{n}"},
        )
    run = tee_shop.refresh_and_sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert properties(tee_shop) == {"Размер": ["L", "M", "S"], "Вкус": ["Ваниль", "Карамель"]}
    assert calls(tee_shop, "market.groupItems") == 2
    assert tee_shop.refresh_and_sync().vk_requests == 0


def test_the_catalog_cache_keeps_attributes_and_choices(tee_shop):
    from catalog.modifications import modification_choices, modification_groups

    groups = modification_groups(tee_shop.user, {tee_shop.store_id})
    (group,) = groups.values()
    assert group.name == "Футболка"
    assert [name for _, name in group.attributes[0].choices] == ["S", "M", "L", "XL"]
    choices = modification_choices(tee_shop.user, groups.values())
    assert choices[(tee_shop.store_id, tee_shop.products["tee-M"])] == (
        group.group_id,
        {"attr-size": "size-M"},
    )


def test_an_attribute_renamed_at_the_till_regroups_under_the_new_property(tee_shop):
    tee_shop.sync()
    attributes = [
        {
            "id": "attr-size",
            "name": "Размер футболки",
            "choices": [{"id": f"size-{s}", "name": s} for s in SIZES],
        }
    ]
    tee_shop.evotor.set_group(tee_shop.store_id, tee_shop.groups["Футболка"], attributes=attributes)
    run = tee_shop.refresh_and_sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert properties(tee_shop)["Размер футболки"] == ["L", "M", "S"]
    items = [tee_shop.vk_item(f"tee-{s}") for s in SIZES]
    grouping = {item.get("variants_grouping_id") for item in items}
    assert len(grouping) == 1 and None not in grouping
    assert tee_shop.refresh_and_sync().vk_requests == 0
