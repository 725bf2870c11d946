"""The preview shows a product with variants as one row with its variants, in every section
(sync/preview_variants.py, sync/templates/sync/includes/plan_rows.html) and in the summary card
(variant_groups.html), and says what VK cannot express and how it is published instead."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from sync import views_preview
from sync.plan.inputs import sync_settings_get
from tests.sync_engine.test_variants import add_tees

pytestmark = pytest.mark.django_db

PREVIEW = reverse("sync:preview")


def get(client, url=PREVIEW, language="en") -> str:
    with translation.override(language):
        return client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()


def section(page: str, key: str) -> str:
    return page.split(f'id="section-{key}"', 1)[1].split("</section>", 1)[0]


def group_rows(html: str) -> list[str]:
    return re.findall(r"<tr data-variants-of=.*?</tr>", html, re.S)


def lines(row: str) -> list[str]:
    return re.findall(r'<li data-product="[^"]*" data-variant="([^"]*)"', row)


def add_tee(shop, size, **fields):
    fields.setdefault("price", 990)
    shop.add(
        f"tee-{size}",
        f"Футболка хлопковая {size}",
        group="Футболка",
        attributes_choices={"attr-size": f"size-{size}"},
        **fields,
    )


def test_the_preview_shows_a_variant_group_as_one_row_with_its_variants(owner_client, shop):
    add_tees(shop)
    page = get(owner_client, language="ru")
    assert page.count('data-variant-group="') == 1
    card = page.split('data-variant-group="', 1)[1].split("</tr>", 1)[0]
    assert "Футболка" in card and "Размер" in card
    for size in ("S", "M", "L"):
        assert f"<li>{size}" in card
    assert card.count("основной") == 1
    new_items = section(page, "create")
    (row,) = group_rows(new_items)
    assert lines(row) == ["S", "M", "L"]  # Evotor's order of the choices
    assert "3 варианта" in row and "Размер" in row
    assert row.count("основной") == 1
    # The price all three share is said once for the product, not on every line.
    assert row.count("990") == 1
    # The section's badge still counts items; the plain products keep a row each.
    assert '<span class="badge">8</span>' in new_items
    assert new_items.count("<tr data-product=") == 5


def test_each_variant_says_its_own_price_and_stock(owner_client, shop):
    settings = sync_settings_get(shop.user)
    settings.publish_stock = True
    settings.save()
    add_tees(shop, sizes=())
    add_tee(shop, "S", price=990, quantity=3)
    add_tee(shop, "L", price=1190, quantity=0)
    add_tee(shop, "M", price=1090, quantity=7)
    shop.refresh()
    (row,) = group_rows(section(get(owner_client), "create"))
    assert lines(row) == ["S", "M", "L"]  # Evotor's order, not the order they were added
    assert "₽990" in row and "₽1,090" in row and "₽1,190" in row
    assert re.findall(r'data-stock="(\d+)"', row) == ["3", "7", "0"]


def test_a_change_to_one_variant_lists_that_variant_under_its_product(owner_client, shop):
    add_tees(shop)
    shop.sync()
    shop.set("tee-M", price=1290)
    shop.refresh()
    page = get(owner_client)
    (row,) = group_rows(section(page, "update"))
    assert lines(row) == ["M"] and "1 of 3 variants" in row
    assert "₽990" in row and "₽1,290" in row
    assert 'data-variants-of="' not in page.split('id="section-update"', 1)[0]


def test_each_variant_says_how_many_photos_it_gets(owner_client, shop):
    add_tees(shop, sizes=())
    for size, extra in (("S", 2), ("M", 0), ("L", 6)):
        add_tee(shop, size, extra_images=extra)
    shop.refresh()
    (row,) = group_rows(section(get(owner_client), "create"))
    photos = re.findall(r'data-variant="(\w)".*?data-photos="(\d)"', row, re.S)
    assert photos == [("S", "3"), ("M", "1"), ("L", "5")]  # main + at most 4, like VK
    shop.sync()
    counts = {key: len(shop.vk_item(key)["photos"]) for key in ("tee-S", "tee-M", "tee-L")}
    assert counts == {"tee-S": 3, "tee-M": 1, "tee-L": 5}


def test_a_variant_not_sent_until_fixed_is_shown_under_its_product(owner_client, shop):
    add_tees(shop, sizes=("S", "M"))
    add_tee(shop, "L", image=False)
    shop.refresh()
    page = get(owner_client, language="ru")
    (row,) = group_rows(page.split('id="flagged"', 1)[1].split("</section>", 1)[0])
    assert lines(row) == ["L"] and 'data-flag="no_photo"' in row
    card = page.split('data-variant-group="', 1)[1].split("</tr>", 1)[0]
    assert "data-waiting=" in card and "не отправляется, пока не исправлен" in card


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
    page = get(owner_client)
    assert "more than two properties" in page.split('id="variant-groups"', 1)[1]
    # The item's own row in "New items" says how it is published instead.
    new_items = section(page, "create")
    assert not group_rows(new_items)
    row = re.search(rf'<tr data-product="{shop.products["tee-1"]}">.*?</tr>', new_items, re.S)
    assert "data-separate" in row[0]
    assert "VK cannot show them as variants, published as a separate item" in row[0]


def test_a_product_with_variants_is_never_split_across_pages(owner_client, shop, monkeypatch):
    add_tees(shop)
    monkeypatch.setattr(views_preview, "ITEMS_PER_ACTION", 5)
    monkeypatch.setattr(views_preview, "ITEMS_PER_PAGE", 5)
    new_items = section(get(owner_client), "create")
    # Five rows: the tees' (the fifth item by name) holds all three, the tea is on the next.
    assert len(re.findall(r"<tr data-(?:product|variants-of)=", new_items)) == 5
    (row,) = group_rows(new_items)
    assert lines(row) == ["S", "M", "L"]
    assert "?action=create" in new_items
    first = get(owner_client, PREVIEW + "?action=create")
    second = get(owner_client, PREVIEW + "?action=create&page=2")
    assert '<span class="badge">8</span>' in first
    shown = [first.count("<tr data-product="), second.count("<tr data-product=")]
    grouped = [len(group_rows(first)), len(group_rows(second))]
    assert sum(shown) == 5 and sum(grouped) == 1
    assert [len(lines(r)) for r in group_rows(first) + group_rows(second)] == [3]
