"""Stock publishing on the pages (issue 14 part 4): the settings form with a floor per store, and
the preview showing the figure that will be sent."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sync.plan.inputs import sync_settings_get
from tests.sync_ui.conftest import CATEGORY
from tests.sync_ui.test_settings import form_data as settings_data

pytestmark = pytest.mark.django_db

SETTINGS = reverse("sync:settings")


def form_data(**overrides):
    """The settings form as the merchant sends it (a category of the VK sandbox)."""
    return settings_data(vk_category_id=str(CATEGORY), **overrides)


PREVIEW = reverse("sync:preview")


def test_stock_is_off_by_default_and_the_form_offers_a_floor_per_store(owner_client, shop):
    assert sync_settings_get(shop.user).publish_stock is False
    response = owner_client.get(SETTINGS)
    page = response.content.decode()
    assert 'name="publish_stock"' in page
    assert 'name="stock_floor_0"' in page
    assert "Лавка для тестов" in page


def test_saving_stock_on_with_a_floor_keeps_it_for_that_store(owner_client, shop):
    data = form_data(publish_stock="on", stock_floor_0="3")
    response = owner_client.post(SETTINGS, data)
    assert response.status_code == 302
    saved = sync_settings_get(shop.user)
    assert saved.publish_stock is True
    assert saved.stock_floors == {shop.store_id: 3}
    # The form shows it back; 0 removes the floor.
    assert 'value="3"' in owner_client.get(SETTINGS).content.decode()
    owner_client.post(SETTINGS, form_data(publish_stock="on", stock_floor_0="0"))
    assert sync_settings_get(shop.user).stock_floors == {}


@pytest.mark.parametrize("bad", ["-1", "abc", "10001"])
def test_a_bad_floor_is_refused_with_a_clear_error_and_nothing_saved(owner_client, shop, bad):
    response = owner_client.post(SETTINGS, form_data(publish_stock="on", stock_floor_0=bad))
    assert response.status_code == 200
    assert "stock_floor_0" in response.context["form"].errors
    saved = sync_settings_get(shop.user)
    assert saved.publish_stock is False and saved.stock_floors == {}


def test_the_preview_shows_the_stock_figure_that_will_be_sent(owner_client, shop):
    shop.set("tea", quantity="2.4", measure_name="кг")
    shop.refresh()
    shop.configure(publish_stock=True, stock_floors={shop.store_id: 5})
    response = owner_client.get(PREVIEW)
    rows = {
        row.item.product_id: {c.field: c.new for c in row.changes}
        for row in response.context["rows"]
    }
    assert rows[shop.products["tea"]]["stock_amount"] == 0  # 2 kg, under the floor of 5
    assert rows[shop.products["coffee"]]["stock_amount"] == 10
    assert "В наличии" in response.content.decode() or "In stock" in response.content.decode()


def test_the_preview_shows_a_sale_as_old_and_new_figure(owner_client, shop):
    shop.configure(publish_stock=True)
    shop.sync()
    shop.set("coffee", quantity=7)
    shop.refresh()
    response = owner_client.get(PREVIEW)
    changes = {
        row.item.product_id: {c.field: (c.old, c.new) for c in row.changes}
        for row in response.context["rows"]
    }
    assert changes == {shop.products["coffee"]: {"stock_amount": (10, 7)}}
