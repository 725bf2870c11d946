"""A catalog the Evotor sandbox generates with modification groups and several pictures
(sandbox/evotor/generated.py) goes to VK as products with variants, every item with its own
photos: the benchmarks' catalogs exercise issue 14 end to end."""

from sync.models import RunStatus

from .conftest import EVOTOR_USER


def test_a_generated_catalog_publishes_its_modification_groups_as_variants(shop):
    (store,) = shop.evotor.generate(
        products=30, stores=1, user_id=EVOTOR_USER, photos_per_product=2, modification_groups=3
    )
    shop.store_id = store
    shop.switch_store(True)
    shop.refresh()
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    items = shop.vk_items(include_removed=True)
    assert len(items) == 30
    grouped = [item for item in items if item.get("variants_grouping_id")]
    assert {item["title"].rsplit(" ", 1)[1] for item in grouped} == {"S", "M", "L"}
    assert len({item["variants_grouping_id"] for item in grouped}) == 3
    assert all(item["title"].startswith("Футболка модель") for item in grouped)
    assert sum(item["is_main_variant"] for item in grouped) == 3
    assert all(len(item["photos"]) == 2 for item in items)  # the main picture and one more
    calls = shop.vk.stats()["calls_by_method"]
    assert calls["market.addProperty"] == 1 and calls["market.groupItems"] == 3
