"""The preview of a large catalog in a real browser: the page shows the task's progress, then the
preview by itself once the slow lane's worker has computed it (htmx's poll where JavaScript
runs, the page's own refresh where it does not).

The task really waits in the ORM broker's slow-lane queue; the worker's side is played by
taking it from there (tests/sync_ui/test_preview_background.py `work`) while the page polls.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from evosync.queues import SLOW
from sync.models import PlanPreview, PreviewStatus
from tests.browser.helpers import DESKTOP
from tests.sync_ui import conftest as shop_fixtures
from tests.sync_ui import test_preview_background as background
from tests.sync_ui.test_preview_background import queued, work

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The publishing pages' shop (five products, connected to both sandboxes) and the ORM broker.
connected = shop_fixtures.connected
fast_vk = shop_fixtures.fast_vk
shop = shop_fixtures.shop
orm_queue = background.orm_queue


@pytest.fixture
def large(settings):
    settings.PREVIEW_INLINE_MAX_PRODUCTS = 2


def test_the_preview_shows_its_progress_then_the_result_by_itself(
    site, shop, owner, password, large, orm_queue
):
    page = site.page
    site.login(owner.email, password)
    site.visit("sync:preview")
    progress = page.locator("#preview-progress")
    expect(progress).to_contain_text("Каталог большой (5 товаров)")
    expect(progress.locator("[data-preview-stage=queued]")).to_be_visible()
    assert queued(SLOW) == 1
    assert site.serious_axe() == []

    assert work(SLOW) == [{"status": "ready"}]
    # htmx's poll sees it ready and reloads the page: the preview, with "Publish".
    expect(page.locator("main")).to_contain_text("Чай чёрный листовой", timeout=15_000)
    expect(page.locator("form[action$='/sync/publish'] button[type=submit]").first).to_be_visible()
    expect(page.locator("#preview-computed")).to_be_visible()
    assert PlanPreview.objects.get(user=owner).status == PreviewStatus.READY


def test_without_javascript_the_page_refreshes_itself_until_the_preview_is_ready(
    chromium, live_server, site, shop, owner, password, large, orm_queue
):
    site.login(owner.email, password)
    cookies = site.page.context.cookies()
    context = chromium.new_context(
        base_url=live_server.url, locale="ru-RU", viewport=DESKTOP, java_script_enabled=False
    )
    try:
        context.add_cookies(cookies)
        page = context.new_page()
        page.goto(live_server.url + "/sync/preview")
        expect(page.locator("[data-preview-stage=queued]")).to_be_visible()
        work(SLOW)
        # The <noscript> refresh (every 5 s) brings the preview.
        expect(page.locator("main")).to_contain_text("Чай чёрный листовой", timeout=15_000)
    finally:
        context.close()


def test_a_stale_preview_is_shown_with_its_banner_then_replaced_by_the_fresh_one(
    site, shop, owner, password, large, orm_queue
):
    page = site.page
    site.login(owner.email, password)
    site.visit("sync:preview")
    work(SLOW)
    expect(page.locator("main")).to_contain_text("Чай чёрный листовой", timeout=15_000)

    # A sale-like change: the kept result is shown at once, as stale, with the progress inline.
    shop.evotor.set_product(shop.store_id, shop.products["tea"], price=777)
    shop.refresh()
    site.visit("sync:preview")
    banner = page.locator("#preview-stale")
    expect(banner).to_contain_text(
        "Каталог изменился после того, как этот предпросмотр был посчитан"
    )
    expect(banner.locator("[data-preview-stage=queued]")).to_be_visible()
    expect(page.locator("form[action$='/sync/publish'] button[type=submit]").first).to_have_text(
        "Опубликовать каталог как есть сейчас"
    )
    assert "777" not in page.locator("main").inner_text()
    assert queued(SLOW) == 1
    assert site.serious_axe() == []

    assert work(SLOW) == [{"status": "ready"}]
    # htmx's poll sees the new one ready and reloads the page: no banner, the new price.
    expect(page.locator("#preview-stale")).to_have_count(0, timeout=15_000)
    expect(page.locator("main")).to_contain_text("777")
