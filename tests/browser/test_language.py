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
    assert "Log out" in page.inner_text("header")

    # The choice sticks while browsing on.
    site.visit("accounts:profile_edit")
    assert page.get_attribute("html", "lang") == "en"

    switch_language(site, "ru")
    assert page.get_attribute("html", "lang") == "ru"
    assert "Выйти" in page.inner_text("header")
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


def test_header_is_one_row_on_a_desktop_and_wraps_under_the_brand_on_a_phone(site, owner, password):
    """At 1280 px the brand, the merchant's navigation and the language switch share one row;
    at 375 px the navigation wraps below the brand and the switch, without horizontal scroll."""
    page = site.page
    site.login(owner.email, password)
    site.visit("accounts:profile")

    def box(selector):
        return page.locator(selector).bounding_box()

    brand, nav, switch = box(".brand"), box(".main-nav"), box(".language-switch")
    assert nav["x"] > brand["x"] + brand["width"], "the navigation sits right of the brand"
    assert switch["x"] >= nav["x"] + nav["width"], "the language switch sits at the right"
    header = box(".site-header")
    assert header["height"] < 2.5 * brand["height"], f"the header is one row ({header})"

    page.set_viewport_size(PHONE)
    brand, nav, switch = box(".brand"), box(".main-nav"), box(".language-switch")
    assert abs(switch["y"] - brand["y"]) < brand["height"], "the switch shares the brand's row"
    assert nav["y"] >= brand["y"] + brand["height"], "the navigation wraps under the brand"
    assert not site.overflow_at(PHONE), site.overflow_at(PHONE)
    page.set_viewport_size(DESKTOP)
