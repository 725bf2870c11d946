"""Pictures and VK links on the VK catalog pages: album covers and "Open in VK"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.vk_catalog.conftest import DEMO_GROUP, make_album, make_products
from vk_catalog.models import vk_item_url

pytestmark = pytest.mark.django_db


def test_an_item_link_opens_the_item_in_the_communitys_market():
    # The shape of the `url` VK gives for an item (sandbox/vk/state.py).
    assert vk_item_url(-200001, 45) == "https://vk.com/market-200001?w=product-200001_45"


def test_the_products_page_links_every_item_to_vk(owner_client, owner, vk_connection):
    make_products(owner, 2, start=10)
    page = owner_client.get(reverse("vk_catalog:products")).content.decode()
    for vk_id in (10, 11):
        assert f'href="https://vk.com/market-{DEMO_GROUP}?w=product-{DEMO_GROUP}_{vk_id}"' in page
    assert 'rel="noopener"' in page


def test_an_album_without_a_cover_shows_its_first_items_photo(owner_client, owner, vk_connection):
    album = make_album(owner, 7, title="Соки", photo_url="")
    make_products(
        owner, 1, start=30, album=album, title="Б сок", thumb_url="https://img.example/b.jpg"
    )
    make_products(
        owner, 1, start=31, album=album, title="А сок", thumb_url="https://img.example/a.jpg"
    )
    make_products(owner, 1, start=32, album=album, title="0 без фото", thumb_url="")
    page = owner_client.get(reverse("vk_catalog:albums")).content.decode()
    assert 'src="https://img.example/a.jpg"' in page
    assert "https://img.example/b.jpg" not in page


def test_an_albums_own_cover_wins(owner_client, owner, vk_connection):
    album = make_album(owner, 8, photo_url="https://img.example/cover.jpg")
    make_products(owner, 1, start=40, album=album, thumb_url="https://img.example/item.jpg")
    page = owner_client.get(reverse("vk_catalog:albums")).content.decode()
    assert 'src="https://img.example/cover.jpg"' in page
    assert "https://img.example/item.jpg" not in page


def test_an_album_without_any_photo_gets_a_placeholder_not_an_empty_cell(
    owner_client, owner, vk_connection
):
    make_album(owner, 9, photo_url="")
    page = owner_client.get(reverse("vk_catalog:albums")).content.decode()
    assert "<td></td>" not in page
    assert 'class="thumb thumb-none"' in page


def test_another_merchants_items_never_give_a_cover(
    owner_client, owner, other_merchant, vk_connection
):
    mine = make_album(owner, 11, photo_url="")
    theirs = make_album(other_merchant, 11, photo_url="")
    make_products(other_merchant, 1, start=50, album=theirs, thumb_url="https://img.example/x.jpg")
    assert mine.pk != theirs.pk
    page = owner_client.get(reverse("vk_catalog:albums")).content.decode()
    assert "https://img.example/x.jpg" not in page
