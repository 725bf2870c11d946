"""Issue 14 in a real browser: the preview shows a product with variants as one row with its
variants (price and stock each), publishing makes it one VK product, and the VK catalog page
marks the main variant and shows the stock."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from connections.models import EvotorConnection, VkConnection
from sync.plan.inputs import sync_settings_get
from tests.browser.conftest import CATEGORY, VK_GROUP, VK_TOKEN
from tests.browser.helpers import PHONE, describe_violations
from tests.sync_engine.test_variants import add_tees
from tests.sync_shop import Shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EVOTOR_TOKEN = "browser-variants-token"
EVOTOR_USER = "01-000000000000777"


@pytest.fixture
def tee_shop(owner, sandboxes) -> Shop:
    """A store of its own (five drinks and pastries, a T-shirt in S, M and L), stock on."""
    sandboxes.evotor.add_token(EVOTOR_TOKEN, EVOTOR_USER)
    EvotorConnection.objects.create(user=owner, cloud_token=EVOTOR_TOKEN)
    VkConnection.objects.create(
        user=owner, access_token=VK_TOKEN, group_id=VK_GROUP, group_name="Демо-магазин"
    )
    store_id = sandboxes.evotor.add_store(name="Лавка с футболками", user_id=EVOTOR_USER)
    settings = sync_settings_get(owner)
    settings.vk_category_id = CATEGORY
    settings.publish_stock = True
    settings.save()
    shop = Shop(
        evotor=sandboxes.evotor,
        vk=sandboxes.vk,
        user=owner,
        store_id=store_id,
        article_prefix="BR-",
    )
    shop.add_demo_products()
    shop.switch_store(True)
    add_tees(shop)
    shop.set("tee-M", quantity=3)  # the M runs low: each variant says its own stock
    shop.refresh()
    return shop


def starts(text: str) -> re.Pattern:
    return re.compile(rf"^\s*{re.escape(text)}\b")


def test_a_product_with_variants_is_one_row_of_the_preview_and_one_product_in_vk(
    site, tee_shop, password
):
    page = site.page
    site.login(tee_shop.user.email, password)
    site.visit("sync:preview")
    rows = page.locator("#section-create tr[data-variants-of]")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_contain_text("Футболка")
    expect(row).to_contain_text("3 варианта")
    expect(row.locator("li[data-variant]")).to_have_text([starts(s) for s in ("S", "M", "L")])
    expect(row.locator("li[data-variant] [data-stock]")).to_have_count(3)
    expect(row.locator("li[data-variant='M'] [data-stock]")).to_have_text("осталось 3")
    expect(row.locator("li[data-variant='S']")).to_contain_text("основной")
    # The five plain products keep a row each.
    expect(page.locator("#section-create tr[data-product]")).to_have_count(5)
    problems = describe_violations("preview with variants", site.axe())
    assert problems == [], "\n".join(problems)
    assert not site.overflow_at(PHONE), site.overflow_at(PHONE)
    site.screenshot("preview-variants")

    with page.expect_navigation():
        page.click("form[action$='/sync/publish'] button[type=submit]")
    tees = [tee_shop.vk_item(f"tee-{size}") for size in ("S", "M", "L")]
    assert len({item["variants_grouping_id"] for item in tees}) == 1
    assert [item["is_main_variant"] for item in tees].count(True) == 1

    site.visit("vk_catalog:products")
    shirts = page.locator("main tr", has_text="Футболка хлопковая")
    expect(shirts).to_have_count(3)
    expect(shirts.locator("[data-variant-group]", has_text="основной вариант")).to_have_count(1)
    expect(shirts.locator("[data-stock='10']")).to_have_count(2)
    expect(shirts.locator("[data-stock='3']")).to_have_count(1)
