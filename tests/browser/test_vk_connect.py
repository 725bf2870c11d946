"""One-click VK connect in a real browser: «Подключить ВКонтакте» → the sandbox's VK ID consent
page → «Разрешить» → the list of the person's communities → one chosen → connected and checked.
The pages on the way pass axe-core's rules and fit a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from connections.models import ConnectionState, VkConnection, VkTokenKind
from tests.browser.conftest import VK_GROUP
from tests.browser.helpers import PHONE, describe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MARKET_OFF_GROUP = 200002


def check_page(site, name: str) -> list[str]:
    problems = describe_violations(name, site.axe())
    overflow = site.overflow_at(PHONE)
    if overflow:
        problems.append(f"{name}: {overflow}")
    return problems


def test_connect_vk_in_one_click_and_choose_the_community(site, sandboxes, owner, password):
    page = site.page
    problems: list[str] = []
    site.login(owner.email, password)

    site.visit("connections:vk")
    expect(page.locator("#vk-status .badge-warn")).to_be_visible()  # not connected
    expect(page.locator("#vk-advanced")).not_to_have_attribute("open", "")  # folded away
    problems += check_page(site, "VK connection, empty")

    with page.expect_navigation():
        page.get_by_role("button", name="Подключить ВКонтакте").click()
    assert page.url.startswith(sandboxes.vk.public_url + "/id/authorize"), page.url
    expect(page.get_by_text("Товары сообществ")).to_be_visible()

    with page.expect_navigation(url="**/connections/vk/communities/"):
        page.get_by_role("button", name="Разрешить").click()
    expect(page.locator("h1")).to_have_text("Выбор сообщества")
    off = page.locator(f"#community-{MARKET_OFF_GROUP}")
    expect(off).to_be_disabled()
    expect(page.locator(f"[data-community='{MARKET_OFF_GROUP}']")).to_contain_text("выключен")
    problems += check_page(site, "VK communities")

    page.get_by_label("Демо-магазин").check()
    with page.expect_navigation(url="**/connections/vk/"):
        page.get_by_role("button", name="Выбрать это сообщество").click()
    expect(page.locator("#vk-status .badge-ok")).to_be_visible()
    expect(page.locator("main .messages")).to_contain_text("Демо-магазин")
    expect(page.locator("main .messages li")).to_have_count(1)
    problems += check_page(site, "VK connection, connected")

    connection = VkConnection.objects.get(user=owner)
    assert connection.group_id == VK_GROUP and connection.token_kind == VkTokenKind.VK_ID
    assert connection.state == ConnectionState.OK and connection.refresh_token

    # The check button confirms it without reloading the page.
    page.click("form[action$='/vk/test/'] button[type=submit]")
    expect(page.locator("#vk-test-result")).to_contain_text("Демо-магазин")
    assert not problems, "\n".join(problems)


def test_cancel_at_vk_changes_nothing_and_says_so(site, sandboxes, owner, password):
    page = site.page
    site.login(owner.email, password)
    site.visit("connections:vk")
    with page.expect_navigation():
        page.get_by_role("button", name="Подключить ВКонтакте").click()
    with page.expect_navigation(url="**/connections/vk/"):
        page.get_by_role("button", name="Отмена").click()
    expect(page.locator("main .messages")).to_contain_text("не разрешили доступ")
    expect(page.locator("#vk-status .badge-warn")).to_be_visible()
    assert not VkConnection.objects.filter(user=owner).exists()
