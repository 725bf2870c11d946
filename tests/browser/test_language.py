"""The language switch in the header: Russian by default, English on request, and back; it
switches as soon as a language is picked, and with JavaScript off through its own small button."""

from __future__ import annotations

import pytest

from tests.browser.helpers import DESKTOP, PHONE, Site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def switch_language(site, code: str) -> None:
    """Picking a language is enough: site.js submits the form on change."""
    page = site.page
    with page.expect_navigation():
        page.select_option("#language-select", code)


def test_site_speaks_russian_then_english_then_russian_again(site, owner, password):
    page = site.page
    site.visit("accounts:login")
    assert page.get_attribute("html", "lang") == "ru"
    assert page.inner_text("main h1") == "Войти"
    # With JavaScript the button is not needed, so it is not shown.
    assert page.locator(".language-switch button[type=submit]").is_hidden()

    site.login(owner.email, password)
    site.visit("accounts:profile")
    assert page.inner_text("main h1") == "Профиль"

    switch_language(site, "en")
    assert site.path == "/accounts/profile/", "the switch brings the merchant back to the page"
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("main h1") == "Profile"
    assert "Log out" in page.text_content("header")  # in the closed «Settings» menu

    # The choice sticks while browsing on.
    site.visit("accounts:profile_edit")
    assert page.get_attribute("html", "lang") == "en"

    switch_language(site, "ru")
    assert page.get_attribute("html", "lang") == "ru"
    assert "Выйти" in page.text_content("header")
    site.visit("accounts:profile")
    assert page.inner_text("main h1") == "Профиль"
    assert not site.overflow_at(PHONE), site.overflow_at(PHONE)


def test_language_switch_works_without_javascript(chromium, live_server, owner, password):
    context = chromium.new_context(
        base_url=live_server.url, locale="ru-RU", viewport=DESKTOP, java_script_enabled=False
    )
    try:
        site = Site(page=context.new_page(), base_url=live_server.url)
        site.login(owner.email, password)
        site.visit("accounts:profile")
        page = site.page
        button = page.locator(".language-switch button[type=submit]")
        assert button.is_visible()
        assert button.inner_text() == "Сменить"

        page.select_option("#language-select", "en")
        assert page.get_attribute("html", "lang") == "ru", "nothing happens before the click"
        with page.expect_navigation():
            button.click()
        assert site.path == "/accounts/profile/"
        assert page.get_attribute("html", "lang") == "en"
        assert page.inner_text("main h1") == "Profile"
        assert not site.overflow_at(PHONE), site.overflow_at(PHONE)
        site.assert_no_errors()
    finally:
        context.close()


def test_header_is_one_row_on_a_desktop_even_for_staff(site, staff, password):
    """At 1366 px the brand, the navigation (administration included) and the language switch
    share one row; connections, settings and the account wait in the «Настройки» menu."""
    page = site.page
    site.login(staff.email, password)
    site.visit("accounts:profile")

    def box(selector):
        return page.locator(selector).bounding_box()

    brand, nav, switch = box(".brand"), box(".main-nav"), box(".language-switch")
    assert page.locator(".menu-button").is_hidden(), "no menu button where the menu fits"
    assert nav["x"] > brand["x"] + brand["width"], "the navigation sits right of the brand"
    assert switch["x"] >= nav["x"] + nav["width"], "the language switch sits at the right"
    header = box(".site-header")
    assert header["height"] < 2.5 * brand["height"], f"the header is one row ({header})"

    admin = page.get_by_role("link", name="Администрирование")
    assert admin.is_hidden()
    page.get_by_text("Настройки", exact=True).click()
    assert admin.is_visible()
    assert page.get_by_role("button", name="Выйти").is_visible()
    # A click elsewhere closes the menu again (site.js), as Escape does.
    page.click("main h1")
    assert admin.is_hidden()
    assert box(".site-header")["height"] == header["height"], "the open menu floats over the page"
    site.assert_no_errors()


def test_phone_gets_a_menu_button_that_opens_the_navigation(site, owner, password):
    page = site.page
    page.set_viewport_size(PHONE)
    site.login(owner.email, password)
    site.visit("accounts:profile")
    button = page.locator(".menu-button")
    publishing = page.get_by_role("link", name="Публикация", exact=True)
    assert button.is_visible() and "Меню" in button.inner_text()
    assert publishing.is_hidden()
    brand, switch = (
        page.locator(".brand").bounding_box(),
        page.locator(".language-switch").bounding_box(),
    )
    assert abs(switch["y"] - brand["y"]) < brand["height"], "the switch shares the brand's row"

    button.click()
    assert publishing.is_visible()
    nav = page.locator(".main-nav").bounding_box()
    assert nav["y"] >= brand["y"] + brand["height"], "the navigation opens under the brand"
    assert not site.overflow_at(PHONE), site.overflow_at(PHONE)
    with page.expect_navigation():
        publishing.click()
    assert site.path == "/sync/"
    page.set_viewport_size(DESKTOP)
    assert publishing.is_visible(), "widening the window shows the navigation again"


def test_the_menu_works_without_javascript(chromium, live_server, owner, password):
    context = chromium.new_context(
        base_url=live_server.url, locale="ru-RU", viewport=PHONE, java_script_enabled=False
    )
    try:
        site = Site(page=context.new_page(), base_url=live_server.url)
        site.login(owner.email, password)
        page = site.page
        history = page.get_by_role("link", name="История", exact=True)
        assert history.is_hidden()
        page.click(".menu-button")
        with page.expect_navigation():
            history.click()
        assert site.path == "/sync/runs"
        site.assert_no_errors()
    finally:
        context.close()


def test_every_tab_title_reads_page_dash_evosync(site, owner, password):
    site.visit("accounts:login")
    assert site.page.title() == "Войти — EvoSync"
    site.login(owner.email, password)
    site.visit("sync:runs")
    assert site.page.title().endswith(" — EvoSync")
    assert site.page.title() != " — EvoSync"


def test_the_footer_stays_at_the_bottom_of_a_short_page(site):
    page = site.page
    site.visit("accounts:login")
    footer = page.locator(".site-footer").bounding_box()
    viewport = page.viewport_size
    assert abs(footer["y"] + footer["height"] - viewport["height"]) <= 1, footer
