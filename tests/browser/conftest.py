"""Fixtures of the browser suite: Debian's Chromium driven by Playwright against Django's live
server, with the vendor sandboxes behind it.

Chromium is looked up at $EVOSYNC_CHROMIUM, then /usr/bin/chromium, then `chromium` on the PATH.
Without one the suite skips, saying so, unless EVOSYNC_REQUIRE_BROWSER=1 (CI sets it): then it
fails. One browser serves the whole package; every test gets a fresh context (cookies, storage).

Screenshots for docs/tour.md are written to docs/screenshots/ when EVOSYNC_TOUR_SCREENSHOTS=1
(or its older name EVOSYNC_SCREENSHOTS=1) or `pytest tests/browser --screenshots`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass

import pytest
from django.core.cache import cache

from tests.browser.helpers import DESKTOP, Site

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
EVOTOR_TOKEN = "evotor-demo-token"
VK_TOKEN = "vk-demo-token"
VK_GROUP = 200001
# The demo account's small coffee shop: 52 products in 5 groups (sandbox/evotor/demo.py).
COFFEE_SHOP = "Кофейня «Зерно»"
KEPT_GROUP = "Завтраки"  # the one group of the coffee shop that is published (4 products)
CATEGORY = 40099  # «Другое» in the VK sandbox's category tree


def pytest_addoption(parser):
    # Recognised when pytest starts from tests/browser (`pytest tests/browser --screenshots`);
    # a plain `pytest` loads this file too late for options: use EVOSYNC_SCREENSHOTS=1 there.
    # A conftest closer to the root may have added it already.
    with contextlib.suppress(ValueError):
        parser.addoption(
            "--screenshots",
            action="store_true",
            default=False,
            help="browser tests write docs/screenshots/*.png (as EVOSYNC_TOUR_SCREENSHOTS=1)",
        )


def find_chromium() -> tuple[str | None, str]:
    """The Chromium binary to drive, and where it was looked for."""
    configured = os.environ.get("EVOSYNC_CHROMIUM", "").strip()
    if configured:
        ok = os.path.isfile(configured) and os.access(configured, os.X_OK)
        return (configured if ok else None), f"$EVOSYNC_CHROMIUM={configured}"
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate, candidate
    return None, "/usr/bin/chromium and `chromium` on the PATH"


@pytest.fixture(scope="package")
def chromium():
    """One headless Chromium for the whole browser package."""
    path, looked_at = find_chromium()
    if path is None:
        message = (
            f"browser tests need Chromium; none found at {looked_at}. Install Debian's package "
            "(apt-get install chromium) or set EVOSYNC_CHROMIUM to the binary."
        )
        if os.environ.get("EVOSYNC_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (EVOSYNC_REQUIRE_BROWSER=1)", pytrace=False)
        pytest.skip(message)

    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=10_000)

    # Playwright's sync API keeps an event loop marked as running in this thread between its
    # calls, which Django's ORM takes for async code. The tests' ORM calls are plain sync calls,
    # so the check is lifted while the browser lives (and only then: the package scope ends it).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
    except Exception:
        playwright.stop()
        _restore_env("DJANGO_ALLOW_ASYNC_UNSAFE", previous)
        raise
    yield browser
    browser.close()
    playwright.stop()
    _restore_env("DJANGO_ALLOW_ASYNC_UNSAFE", previous)


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


@pytest.fixture
def screenshots_wanted(request) -> bool:
    return bool(
        "1" in (os.environ.get("EVOSYNC_TOUR_SCREENSHOTS"), os.environ.get("EVOSYNC_SCREENSHOTS"))
        or request.config.getoption("--screenshots", default=False)
    )


@pytest.fixture
def site(chromium, live_server, screenshots_wanted, media):
    """A fresh browser context in Russian (the merchant's language) at desktop width; the test
    fails if any page it opened logged a console error or threw."""
    # The database cache's table is not a model's, so the flush between live-server tests
    # leaves it: a lock an earlier test's server thread took for the same user id (users are
    # numbered anew) would still be held here ("catalog refresh already running").
    cache.clear()
    context = chromium.new_context(
        base_url=live_server.url, locale="ru-RU", viewport=DESKTOP, timezone_id="Europe/Moscow"
    )
    # Generous: a click that saves a token or publishes runs the task inline (django-q's sync
    # mode) before the page answers, and CI shares two cores with a database server.
    context.set_default_timeout(15_000)
    context.set_default_navigation_timeout(30_000)
    page = context.new_page()
    site = Site(page=page, base_url=live_server.url, screenshots=screenshots_wanted)
    context.on("page", site.watch)
    yield site
    context.close()
    if site.errors:
        pytest.fail("The browser reported errors:\n" + "\n".join(site.errors), pytrace=False)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def sandboxes(evotor_sandbox, vk_sandbox, settings):
    """Both emulators reset to their demo state, with VK's limit raised so runs are quick."""
    vk_sandbox.set_rate_limit(100)
    settings.VK_REQUESTS_PER_SECOND = 50
    return Sandboxes(evotor=evotor_sandbox, vk=vk_sandbox)


@dataclass
class Sandboxes:
    evotor: object
    vk: object

    def coffee_shop_id(self) -> str:
        from sandbox.evotor.demo import build_demo

        return next(store.id for store in build_demo() if store.name == COFFEE_SHOP)

    def vk_items(self) -> list[dict]:
        return [item for item in self.vk.items(VK_GROUP) if item.get("availability") != 1]


@dataclass
class PublishedShop:
    user: object
    store: object
    run: object


@pytest.fixture
def published_shop(owner, sandboxes) -> PublishedShop:
    """The owner, connected to both sandboxes, with the coffee shop's breakfasts published once
    (set up through the services, not the browser: the pages are what the tests look at)."""
    from catalog.filters import sync_filter_set
    from catalog.models import CachedStore, SyncFilter
    from catalog.services import catalog_refresh_for_user
    from connections.models import EvotorConnection, VkConnection
    from sync.lifecycle import sync_run_create
    from sync.plan.inputs import sync_settings_get
    from sync.publish.run import sync_run_execute
    from vk_catalog.services import vk_catalog_refresh_for_user

    EvotorConnection.objects.create(user=owner, cloud_token=EVOTOR_TOKEN)
    VkConnection.objects.create(
        user=owner, access_token=VK_TOKEN, group_id=VK_GROUP, group_name="Демо-магазин"
    )
    result = catalog_refresh_for_user(user=owner)
    assert result.ok, result.error
    store = CachedStore.objects.get(user=owner, name=COFFEE_SHOP)
    sync_filter_set(
        user=owner, entity_type=SyncFilter.EntityType.STORE, entity_id=store.evotor_id, enabled=True
    )
    for group in store.groups.all():
        if not group.parent_evotor_id and group.name != KEPT_GROUP:
            sync_filter_set(
                user=owner,
                entity_type=SyncFilter.EntityType.GROUP,
                entity_id=group.evotor_id,
                parent_entity_id=store.evotor_id,
                enabled=False,
            )
    settings_obj = sync_settings_get(owner)
    settings_obj.vk_category_id = CATEGORY
    settings_obj.save()
    vk_catalog_refresh_for_user(user=owner)
    run = sync_run_execute(run=sync_run_create(user=owner))
    return PublishedShop(user=owner, store=store, run=run)
