"""The ItemLink state machine (sync/publish/links.py) and stale links the plan drops."""

from decimal import Decimal

import pytest

from sync.models import ItemLink, LinkState, RunStatus
from sync.plan.photos import PhotoMark
from sync.plan.snapshots import VkItemSnapshot
from sync.publish import links

VK_ITEM = VkItemSnapshot(
    vk_id=77,
    title="Чай",
    sku="ART-tea",
    price=Decimal("150"),
    availability=0,
    album_ids=(5, 9),
)


def creating_link() -> ItemLink:
    link = ItemLink(store_id="s", product_id="p", sku="ART-tea", state=LinkState.PENDING)
    links.mark_creating(link, sku="ART-tea", fields={"name": "Чай"}, hidden=False, photo_hash="h1")
    return link


def test_adopting_the_merchants_own_item_keeps_their_vk_photo():
    link = ItemLink(store_id="s", product_id="p", sku="ART-tea", last_error="x", error_count=2)
    links.adopt(link, VK_ITEM, managed_albums={5})
    assert (link.vk_item_id, link.state, link.adopted) == (77, LinkState.PUBLISHED, True)
    assert link.photo_hash == PhotoMark.KEEP_VK == "vk"
    assert link.album_ids == [5]  # only our albums count
    assert link.published_fields["hidden"] is False and link.published_fields["sku"] == "ART-tea"
    assert (link.last_error, link.error_count) == ("", 0)


def test_finding_our_own_lost_item_keeps_the_photo_we_uploaded():
    link = creating_link()
    links.adopt(link, VK_ITEM, managed_albums={5}, made_by_us=True)
    assert (link.vk_item_id, link.state) == (77, LinkState.PUBLISHED)
    assert link.adopted is False  # not the merchant's: our generated description may update it
    assert link.photo_hash == "h1"  # later Evotor photo changes still reach VK


def test_forgetting_a_vk_item_sends_the_link_back_to_be_created():
    link = ItemLink(vk_item_id=5, state=LinkState.PUBLISHED, photo_hash="h", album_ids=[1])
    link.published_fields = {"name": "Чай", "hidden": False}
    links.forget_vk_item(link)
    assert (link.vk_item_id, link.state, link.photo_hash) == (None, LinkState.PENDING, "")
    assert (link.published_fields, link.album_ids) == ({}, [])


def test_a_refused_new_item_fails_and_a_refused_published_one_keeps_its_state():
    new = creating_link()
    links.mark_refused(new, "Bad (100)")
    assert (new.state, new.last_error, new.error_count) == (LinkState.FAILED, "Bad (100)", 1)
    published = ItemLink(vk_item_id=5, state=LinkState.HIDDEN, error_count=0)
    links.mark_refused(published, "Bad (100)")
    assert (published.state, published.error_count) == (LinkState.HIDDEN, 1)


@pytest.mark.django_db
def test_stale_links_of_products_no_longer_selected_are_removed(shop):
    stale = ItemLink.objects.create(
        user=shop.user,
        store_id=shop.store_id,
        product_id="gone-from-the-till",
        sku="ART-gone",
        state=LinkState.FAILED,
        last_error="Bad (100)",
    )
    creating = ItemLink.objects.create(
        user=shop.user, store_id=shop.store_id, product_id="lost-answer", sku="ART-lost"
    )
    ItemLink.objects.filter(pk=creating.pk).update(state=LinkState.CREATING)
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert not ItemLink.objects.filter(pk=stale.pk).exists()
    # A `creating` link is resolved first (VK has no such sku: back to pending), then dropped.
    assert not ItemLink.objects.filter(pk=creating.pk).exists()
    assert ItemLink.objects.filter(user=shop.user).count() == len(shop.products)


@pytest.mark.django_db
def test_a_dry_run_drops_no_link(shop):
    from sync.lifecycle import sync_run_create
    from sync.publish.run import sync_run_execute

    stale = ItemLink.objects.create(
        user=shop.user, store_id=shop.store_id, product_id="gone", sku="ART-gone"
    )
    run = sync_run_execute(run=sync_run_create(user=shop.user, dry_run=True))
    assert run.status == RunStatus.SUCCEEDED
    assert ItemLink.objects.filter(pk=stale.pk).exists()
