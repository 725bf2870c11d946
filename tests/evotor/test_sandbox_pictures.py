"""Products with several pictures in the Evotor sandbox (issue 14 part 2): the image list
answers them in Evotor's order (the main one first), every file is served, and the catalog
generated for benchmarks has them too, and modification groups (part 1) when asked."""

from __future__ import annotations

import requests

from connections.evotor_client import EvotorClient
from sandbox.evotor.demo import DEMO_TOKEN


def image_list(client: EvotorClient, store_id: str, product_id: str):
    return client.list_product_images(store_id, product_id)


def test_a_product_added_with_extra_pictures_lists_them_after_the_main_one(
    evotor_sandbox, sandbox_server, demo_stores
):
    cafe = demo_stores["cafe"]
    product = evotor_sandbox.add_product(cafe, name="Эклер", price=120, extra_images=2)
    images = image_list(EvotorClient(DEMO_TOKEN), cafe, product["id"])
    assert len(images) == 3
    assert len({image.id for image in images}) == 3
    assert images[0].id == evotor_sandbox.images(cafe, product["id"])[0]["id"]
    for image in images:
        picture = requests.get(image.url, timeout=5)
        assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/png"


def test_replacing_the_main_picture_keeps_the_others_in_order(
    evotor_sandbox, sandbox_server, demo_stores
):
    cafe = demo_stores["cafe"]
    product = evotor_sandbox.add_product(cafe, name="Эклер", price=120, extra_images=2)
    before = [image.id for image in image_list(EvotorClient(DEMO_TOKEN), cafe, product["id"])]
    evotor_sandbox.replace_image(cafe, product["id"])
    after = [image.id for image in image_list(EvotorClient(DEMO_TOKEN), cafe, product["id"])]
    assert after[0] != before[0] and after[1:] == before[1:]
    old = requests.get(f"{evotor_sandbox.public_url}/images/{before[0]}.png", timeout=5).status_code
    assert old == 404


def test_the_demo_has_products_with_three_pictures(evotor_sandbox, demo_stores):
    shop = demo_stores["shop"]
    counts = [
        len(evotor_sandbox.images(shop, product["id"])) for product in evotor_sandbox.products(shop)
    ]
    assert 3 in counts and 1 in counts and 0 in counts
    assert max(counts) <= 5  # VK takes a main photo and four more


def test_a_generated_catalog_has_products_with_three_pictures(evotor_sandbox, sandbox_server):
    (store,) = evotor_sandbox.generate(products=60, stores=1)
    client = EvotorClient(DEMO_TOKEN)
    products = [p["id"] for p in evotor_sandbox.products(store)][:12]
    counts = [len(image_list(client, store, pid)) for pid in products]
    assert 3 in counts and 1 in counts and 0 in counts
    many = products[counts.index(3)]
    images = image_list(client, store, many)
    assert len({image.id for image in images}) == 3
    for image in images:
        assert requests.get(image.url, timeout=5).status_code == 200


def test_a_generated_catalog_can_hold_modification_groups(evotor_sandbox, sandbox_server):
    (store,) = evotor_sandbox.generate(products=40, stores=1, modification_groups=4)
    client = EvotorClient(DEMO_TOKEN)
    groups = {group.id: group for group in client.iter_groups(store)}
    modification = [group for group in groups.values() if group.is_modification_group]
    assert len(modification) == 4
    assert all(group.parent_id in groups for group in modification)
    choices = {
        choice["id"]: (group.id, attribute["id"], choice["name"])
        for group in modification
        for attribute in group.raw["attributes"]
        for choice in attribute["choices"]
    }
    variants = [p for p in client.iter_products(store) if p.raw.get("attributes_choices")]
    assert len(variants) == 12
    for product in variants:
        ((attribute, choice),) = product.raw["attributes_choices"].items()
        group_id, attribute_id, size = choices[choice]
        assert (product.parent_id, attribute) == (group_id, attribute_id)
        assert product.name.endswith(f" {size}")
    # The other 28 are plain products in ordinary groups, as before.
    plain = [p for p in client.iter_products(store) if not p.raw.get("attributes_choices")]
    modification_ids = {group.id for group in modification}
    assert len(plain) == 28 and not any(p.parent_id in modification_ids for p in plain)
