"""Several photos in a real browser (issue 14 part 2): a product with no picture in Evotor is
held back in the preview with a link to upload one; the merchant uploads two, makes the second
the main one, the preview counts them, and publishing sends both to VK in that order."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image
from playwright.sync_api import expect

from sync.models import ProductPhoto
from tests.browser.helpers import describe_violations
from tests.browser.test_variants_preview import EVOTOR_TOKEN, EVOTOR_USER
from tests.sync_shop import CATEGORY, VK_GROUP, VK_TOKEN, Shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def png(color) -> dict:
    buffer = io.BytesIO()
    Image.new("RGB", (600, 600), color).save(buffer, "PNG")
    return {"name": "photo.png", "mimeType": "image/png", "buffer": buffer.getvalue()}


@pytest.fixture
def eclair_shop(owner, sandboxes) -> Shop:
    from connections.models import EvotorConnection, VkConnection
    from sync.plan.inputs import sync_settings_get

    sandboxes.evotor.add_token(EVOTOR_TOKEN, EVOTOR_USER)
    EvotorConnection.objects.create(user=owner, cloud_token=EVOTOR_TOKEN)
    VkConnection.objects.create(user=owner, access_token=VK_TOKEN, group_id=VK_GROUP)
    settings = sync_settings_get(owner)
    settings.vk_category_id = CATEGORY
    settings.save()
    store_id = sandboxes.evotor.add_store(name="Кондитерская", user_id=EVOTOR_USER)
    shop = Shop(evotor=sandboxes.evotor, vk=sandboxes.vk, user=owner, store_id=store_id)
    shop.add_demo_products()
    shop.add("eclair", "Эклер ванильный", group="Выпечка", image=False)
    shop.switch_store(True)
    shop.refresh()
    return shop


def test_merchant_adds_two_photos_orders_them_and_vk_gets_both(site, eclair_shop, password):
    page = site.page
    eclair = eclair_shop.products["eclair"]
    site.login(eclair_shop.user.email, password)
    site.visit("sync:preview")
    flagged = page.locator(f"#flagged tr[data-product='{eclair}']")
    expect(flagged.locator("[data-flag='no_photo']")).to_be_visible()
    flagged.get_by_role("link", name="Загрузить фото").click()
    expect(page.locator("h1")).to_have_text("Фотография для ВКонтакте")

    page.set_input_files("input[name=image]", files=[png((200, 40, 40))])
    with page.expect_navigation():
        page.get_by_role("button", name="Загрузить").click()
    assert site.path == reverse("sync:preview")
    photo_page = reverse("sync:photo_upload", args=[eclair_shop.store_id, "product", eclair])
    page.goto(site.base_url + photo_page)
    page.set_input_files("input[name=image]", files=[png((40, 40, 200))])
    with page.expect_navigation():
        page.get_by_role("button", name="Добавить ещё одной фотографией").click()
    page.goto(site.base_url + photo_page)
    expect(page.locator("li[data-photo]")).to_have_count(2)
    _first, second = ProductPhoto.objects.filter(entity_id=eclair).order_by("position")
    with page.expect_navigation():
        page.get_by_role("button", name="Сделать главной").click()
    expect(page.locator("li[data-photo]").first).to_have_attribute("data-photo", str(second.pk))
    problems = describe_violations("product photos", site.axe())
    assert problems == [], "\n".join(problems)
    site.screenshot("product-photos")

    site.visit("sync:preview")
    row = page.locator(f"#section-create tr[data-product='{eclair}']")
    expect(row.locator("[data-photos]")).to_have_attribute("data-photos", "2")
    with page.expect_navigation():
        page.click("form[action$='/sync/publish'] button[type=submit]")
    photos = eclair_shop.vk_item("eclair")["photos"]
    assert len(photos) == 2 and photos[0]["id"] != photos[1]["id"]
