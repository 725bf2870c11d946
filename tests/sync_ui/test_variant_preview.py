"""The preview shows a product with variants as one row with its variants, and says what VK
cannot express (sync/templates/sync/includes/variant_groups.html)."""

import pytest
from django.urls import reverse
from django.utils import translation

from tests.sync_engine.test_variants import add_tees

pytestmark = pytest.mark.django_db

PREVIEW = reverse("sync:preview")


def test_the_preview_shows_a_variant_group_as_one_row_with_its_variants(owner_client, shop):
    add_tees(shop)
    with translation.override("ru"):
        page = owner_client.get(PREVIEW, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert page.count('data-variant-group="') == 1
    row = page.split('data-variant-group="', 1)[1].split("</tr>", 1)[0]
    assert "Футболка" in row and "Размер" in row
    for size in ("S", "M", "L"):
        assert f"<li>{size}" in row
    assert row.count("основной") == 1
    new_items = page.split('id="section-create"', 1)[1].split("</section>", 1)[0]
    assert new_items.count("data-variant") == 3
    assert "вариант «M» товара «Футболка»" in new_items


def test_the_preview_says_three_properties_become_separate_items(owner_client, shop):
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
    page = owner_client.get(PREVIEW, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "more than two properties" in page
