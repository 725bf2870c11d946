"""The language switch in the header: Russian by default, English on request, and back."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def switch_language(site, code: str) -> None:
    page = site.page
    page.select_option("#language-select", code)
    with page.expect_navigation():
        page.click(".language-switch button[type=submit]")


def test_site_speaks_russian_then_english_then_russian_again(site, owner, password):
    page = site.page
    site.visit("accounts:login")
    assert page.get_attribute("html", "lang") == "ru"
    assert page.inner_text("main h1") == "Войти"

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
    assert not site.overflow_at({"width": 375, "height": 740}), site.overflow_at(
        {"width": 375, "height": 740}
    )
