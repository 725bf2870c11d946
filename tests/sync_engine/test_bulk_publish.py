"""Photos go up in bulk (docs/contracts/vk-market-api.md §13): five items' photos in one upload, saved by one
market.saveProductPhotoBulk chained to their market.add calls in the same `execute`; one upload
URL serves the run while VK takes it. The requests of a publish are the same on a busy host as
on a quiet one, and where VK refuses bulk or a URL the run still publishes every item once."""

import threading
from collections import Counter

import pytest

from bench.cpuload import cpu_load
from sync.models import ItemLink, LinkState, RunStatus
from sync.publish import photo_prep
from sync.publish.albums import Albums

# 45 products in 2 albums: market.get + market.getAlbums (a first publish reads the community),
# 1 request of 2 addAlbum, 1 for the upload URL, 9 photo groups of 5 in 3 requests (4 + 4 + 1
# groups), and 1 for the albums' memberships (2 addToAlbum of fewer than 100 items, sent once
# no more items will come). 2 + 1 + 1 + 3 + 1 = 8.
PRODUCTS = 45
REQUESTS = 8


@pytest.fixture
def shop45(shop, default_photo_path):
    for n in range(PRODUCTS - len(shop.products)):
        group = "Напитки" if n % 2 else "Выпечка"
        shop.add(f"b{n}", f"Товар для проверки {n}", group=group, image=False, price=10 + n)
    shop.refresh()
    return shop


def requests_by_method(shop) -> dict:
    return shop.vk.stats()["requests_by_method"]


def calls(shop, method: str) -> int:
    return shop.vk.stats()["calls_by_method"].get(method, 0)


def assert_every_item_once(shop):
    items = shop.vk_items()
    assert len(items) == PRODUCTS
    skus = [item["sku"] for item in items]
    assert len(set(skus)) == PRODUCTS, "no item published twice"
    photos = [item["photos"][0]["id"] for item in items]
    assert len(set(photos)) == PRODUCTS, "every item has its own photo"
    links = ItemLink.objects.filter(user=shop.user)
    assert all(link.state == LinkState.PUBLISHED and link.vk_item_id for link in links)


@pytest.mark.parametrize("busy_loops", [0, 4])
def test_a_first_publish_sends_the_same_requests_on_a_busy_host(shop45, busy_loops):
    shop = shop45
    # The loops end with the block, or by themselves after a minute if this process dies.
    with cpu_load(busy_loops, max_seconds=60):
        run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert sum(requests_by_method(shop).values()) == REQUESTS
    assert run.vk_requests == REQUESTS and run.vk_rate_refusals == 0
    assert calls(shop, "market.getProductPhotoUploadServer") == 1  # one URL, reused
    assert calls(shop, "market.saveProductPhotoBulk") == 9
    assert calls(shop, "market.saveProductPhoto") == 0
    assert_every_item_once(shop)


def test_items_of_a_group_get_the_photos_of_their_own_files(shop45):
    shop = shop45
    shop.sync()
    # The demo products carry Evotor's own images, the rest the default photo: each item's
    # photo was uploaded from its own file (the sandbox keeps its size and thumbnail).
    for key in ("tea", "coffee", "juice", "bun", "pie"):
        photo = shop.vk.photo(shop.vk_item(key)["photos"][0]["id"])
        assert photo["item_id"] == shop.vk_item(key)["id"]


def test_where_vk_refuses_bulk_the_photos_go_up_one_by_one(shop45):
    shop = shop45
    shop.vk.set_photo_upload(bulk=False)
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.created == PRODUCTS and run.failed == 0
    assert calls(shop, "market.saveProductPhoto") == PRODUCTS
    assert calls(shop, "market.saveProductPhotoBulk") == 0
    # The refused bulk URL, then one plain URL for every upload.
    assert calls(shop, "market.getProductPhotoUploadServer") == 2
    assert_every_item_once(shop)


def test_a_bulk_save_vk_does_not_know_switches_the_run_to_single_uploads(shop45):
    shop = shop45
    shop.vk.fail(3, method="market.saveProductPhotoBulk")
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.created == PRODUCTS and run.failed == 0
    assert calls(shop, "market.saveProductPhoto") == PRODUCTS
    assert_every_item_once(shop)


def test_an_upload_url_vk_stops_taking_is_replaced_by_a_fresh_one(shop45):
    shop = shop45
    shop.vk.set_photo_upload(url_posts=3)  # 9 groups: 3 URLs at least
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.created == PRODUCTS and run.failed == 0
    assert calls(shop, "market.getProductPhotoUploadServer") >= 3
    assert max(shop.vk.stats()["uploads_by_url"].values()) > 1, "a URL served several uploads"
    assert_every_item_once(shop)


def test_a_refused_bulk_save_is_uploaded_again_to_a_fresh_url(shop45):
    shop = shop45
    shop.vk.fail(
        100,
        method="market.saveProductPhotoBulk",
        count=1,
        message="upload_response is invalid: the upload server expired",
    )
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.created == PRODUCTS and run.failed == 0
    assert calls(shop, "market.getProductPhotoUploadServer") == 2
    assert calls(shop, "market.saveProductPhotoBulk") == 10  # 9 groups + the refused one again
    assert_every_item_once(shop)


def test_a_photo_vk_refuses_twice_in_bulk_costs_only_its_own_group_then_item(shop45):
    shop = shop45
    # The first group's save is refused twice: its five photos go up alone, then pass.
    shop.vk.fail(100, method="market.saveProductPhotoBulk", count=2, message="photo is invalid")
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.created == PRODUCTS and run.failed == 0
    assert_every_item_once(shop)


def test_every_call_the_publisher_sent_matches_vks_schema(shop45):
    from tests.vk import vk_schema

    shop45.sync()
    problems = []
    for method, params in shop45.vk.call_log:
        if method != "execute":
            problems += vk_schema.parameter_problems(method, params)
    assert problems == []


def test_the_first_photos_get_ready_while_the_albums_are_made(shop45, monkeypatch):
    """Photo work starts before the run's first addAlbum request, not after the albums and
    links are made; a photo prepared ahead is not prepared again for its job."""
    shop = shop45
    prepared: list = []
    started = threading.Event()
    prepare = photo_prep.prepare_photo

    def recorded(item, *args):
        prepared.append(item.key)
        started.set()
        return prepare(item, *args)

    monkeypatch.setattr(photo_prep, "prepare_photo", recorded)
    apply = Albums.apply
    seen_before_albums = []

    def albums_after_a_photo_started(self, *args, **kwargs):
        # Without the photos prepared ahead nothing sets the event here: 10 s, then False.
        seen_before_albums.append(started.wait(timeout=10))
        return apply(self, *args, **kwargs)

    monkeypatch.setattr(Albums, "apply", albums_after_a_photo_started)

    run = shop.sync()

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert seen_before_albums == [True]
    assert len(prepared) == PRODUCTS and set(Counter(prepared).values()) == {1}
    assert sum(requests_by_method(shop).values()) == REQUESTS
    assert_every_item_once(shop)
