"""Field ownership in a real browser: the merchant gives the description to VK in the settings,
polishes an item in VK, and the preview (after a VK catalog read) says what publishing keeps and
what it overwrites; publishing from it does exactly that."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sync.models import FieldOwner, SyncSettings
from tests.browser.conftest import VK_GROUP
from tests.browser.helpers import describe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POLISHED = "Нежные сырники из фермерского творога, со сметаной и ягодами. Подаём горячими."


def test_merchant_keeps_a_description_polished_in_vk_and_sees_a_name_edit_overwritten(
    site, published_shop, sandboxes, password
):
    page = site.page
    user = published_shop.user
    items = sorted(sandboxes.vk_items(), key=lambda item: item["title"])
    polished, renamed = items[0], items[1]

    # --- the settings: the description belongs to VK from now on ------------------------------
    site.login(user.email, password)
    site.visit("sync:settings")
    expect(page.locator("#ownership")).to_have_text("Кому принадлежит каждое поле")
    page.check("input[name=description_owner][value=vk]")
    site.screenshot("settings-ownership")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert SyncSettings.objects.get(user=user).description_owner == FieldOwner.VK

    # --- the merchant polishes one item and renames another in VK -----------------------------
    sandboxes.vk.edit_item(VK_GROUP, polished["id"], description=POLISHED)
    sandboxes.vk.edit_item(VK_GROUP, renamed["id"], name="Переименовано во ВКонтакте")

    # --- EvoSync reads the VK Market (the button on the VK catalog page) -----------------------
    site.visit("vk_catalog:albums")
    with page.expect_navigation():
        page.click("form[action$='/vk-catalog/refresh'] button[type=submit]")

    # --- the preview says what it keeps and warns about what it overwrites --------------------
    site.visit("sync:preview")
    kept = page.locator("#kept-in-vk")
    expect(kept).to_contain_text("Оставлено как во ВКонтакте")
    expect(kept).to_contain_text("Описание: изменено во ВКонтакте, поле принадлежит ВКонтакте")
    expect(page.locator("#vk-edits-overwritten")).to_contain_text(
        "1 товар изменён во ВКонтакте в полях, которые принадлежат Эвотору"
    )
    expect(page.locator("[data-overwrites]")).to_contain_text("Изменено во ВКонтакте: Название")
    problems = describe_violations("preview with ownership", site.axe())
    assert problems == [], "\n".join(problems)
    site.screenshot("preview-ownership")

    # --- publish: the polished description stays, the name comes back from Evotor ------------
    with page.expect_navigation():
        page.click("form[action$='/sync/publish'] button[type=submit]")
    now = {item["id"]: item for item in sandboxes.vk_items()}
    assert now[polished["id"]]["description"] == POLISHED
    assert now[renamed["id"]]["title"] == renamed["title"]
