"""Every main page, checked in the browser: axe-core's accessibility rules (labelled fields, named
buttons and links, headings in order, 4.5:1 text contrast, alt texts, title and language), a
visible focus when tabbing, and no horizontal scrolling on a 375 px phone.

The problems of all pages are gathered and reported together, one line per element, so a single
run tells every template owner what to fix.
"""

from __future__ import annotations

import pytest

from tests.browser.helpers import PHONE, describe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANONYMOUS_PAGES = [
    ("login", "accounts:login"),
    ("register", "accounts:register"),
    ("password reset", "accounts:password_reset"),
    ("resend confirmation", "accounts:resend_confirmation"),
]


def merchant_pages(shop) -> list[tuple[str, str, tuple]]:
    store, run = shop.store, shop.run
    return [
        ("profile", "accounts:profile", ()),
        ("profile edit", "accounts:profile_edit", ()),
        ("password change", "accounts:password_change", ()),
        ("delete account", "accounts:delete_account", ()),
        ("dashboard", "sync:dashboard", ()),
        ("Evotor connection", "connections:evotor", ()),
        ("VK connection", "connections:vk", ()),
        ("catalog stores", "catalog:stores", ()),
        ("catalog groups", "catalog:groups", (store.pk,)),
        ("catalog products", "catalog:products", (store.pk,)),
        ("publishing settings", "sync:settings", ()),
        ("preview", "sync:preview", ()),
        ("run history", "sync:runs", ()),
        ("run detail", "sync:run_detail", (run.pk,)),
        ("VK catalog albums", "vk_catalog:albums", ()),
        ("VK catalog items", "vk_catalog:products", ()),
    ]


STAFF_PAGES = [
    ("admin index", "admin:index", ()),
    ("admin users", "admin:accounts_user_changelist", ()),
    ("admin sync runs", "admin:sync_syncrun_changelist", ()),
]
# Pages where tabbing must show a focus ring on every stop (a sample of each kind of page).
FOCUS_PAGES = {"login", "register", "dashboard", "Evotor connection", "catalog groups", "preview"}


def visit_all(site, shop, staff, password, check) -> None:
    """Opens every main page in turn (anonymous, the merchant, then staff) and calls
    `check(name)` on each; the merchant's pages must show the alert banners."""
    for name, url_name in ANONYMOUS_PAGES:
        site.visit(url_name)
        check(name)
    site.login(shop.user.email, password)
    for name, url_name, args in merchant_pages(shop):
        site.visit(url_name, *args)
        # The page an alert links to shows the problem itself, without its banner.
        expected = 1 if url_name == "connections:vk" else 2
        assert site.page.locator(".banner").count() == expected, (
            f"{name}: the alert banners are missing"
        )
        check(name)
    site.page.context.clear_cookies()
    site.login(staff.email, password)
    for name, url_name, args in STAFF_PAGES:
        site.visit(url_name, *args)
        check(name)
    site.visit("admin:accounts_user_change", shop.user.pk)
    check("admin user")
    site.visit("admin:sync_syncrun_change", shop.run.pk)
    check("admin sync run")


@pytest.fixture
def banners(published_shop):
    """Two active alerts, so every merchant page carries an error and a warning banner."""
    from sync.alerts import alert_raise
    from sync.models import AlertCause

    user = published_shop.user
    alert_raise(user=user, cause=AlertCause.TOKEN_REVOKED, message="VK no longer accepts it.")
    alert_raise(user=user, cause=AlertCause.REMOVAL_GUARD, message="A run waits for you.")


def test_every_main_page_passes_the_accessibility_checks(
    site, published_shop, banners, staff, password
):
    problems: list[str] = []

    def check(name: str) -> None:
        problems.extend(describe_violations(name, site.axe()))
        if name in FOCUS_PAGES:
            problems.extend(site.focus_problems())

    visit_all(site, published_shop, staff, password, check)
    assert not problems, f"{len(problems)} accessibility problems:\n" + "\n".join(problems)


def test_every_main_page_fits_a_phone(site, published_shop, banners, staff, password):
    problems: list[str] = []

    def check(name: str) -> None:
        overflow = site.overflow_at(PHONE)
        if overflow:
            problems.append(f"{name} ({site.path}): {overflow}")

    visit_all(site, published_shop, staff, password, check)
    assert not problems, "Pages wider than a 375 px phone:\n" + "\n".join(problems)
