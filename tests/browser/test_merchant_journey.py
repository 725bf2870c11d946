"""A new merchant's whole first day, in a real browser, against the vendor sandboxes, at a laptop's
and at a phone's width: sign up, confirm the e-mail from the letter, connect VK in one click
(VK ID's consent page, «Разрешить», the list of communities), connect Evotor with the sandbox's
token, choose the store and its groups, look at the preview, publish, change a price at the
Evotor sandbox's till page, and find the new price in VK.

On every page of the site on the way axe-core's whole rule set must find nothing serious or
critical, and the page must fit the width without horizontal scrolling; the problems are gathered
and reported together at the end, so one page does not hide the rest. (The VK ID consent page and
the till are the sandboxes' stand-ins for VK's and Evotor's own pages, not checked.) A console
error or an uncaught script error on any page fails the test (the `site` fixture).

The till page's change reaches VK the way Evotor's does: the sandbox posts a signed change event
to the site (`/evotor/events`), which applies it and queues an «Изменение в Эвоторе» run. In the
tests django-q runs tasks inline, so the run is over when the till page answers: nothing waits.

With EVOSYNC_TOUR_SCREENSHOTS=1 the walk also writes the tour's screenshots (docs/tour.md).
"""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import Status, User
from catalog.models import CachedProduct, CachedStore
from sync.models import RunStatus, RunTrigger, SyncRun
from tests.browser.conftest import COFFEE_SHOP, EVOTOR_TOKEN, KEPT_GROUP
from tests.browser.helpers import CONFIRM_LINK, DESKTOP, PHONE, describe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "lavka@example.ru"
PASSWORD = "Kofe-i-Bulki-2024"
# The kept group's four products and the store's one product outside any group.
EXPECTED_ITEMS = (
    "Каша овсяная",
    "Круассан с лососем",
    "Омлет с ветчиной",
    "Сырники со сметаной",
    "Стакан с собой",
)
PUSH_SECRET = "journey-test-app-secret-0123456789abcdef"
NEW_PRICE = 512
# The tour shows these pages at a phone's width too (docs/tour.md).
PHONE_SHOTS = {"preview", "dashboard"}


class Walk:
    """The checks every page of the walk gets, and the tour's screenshots."""

    def __init__(self, site, viewport: dict):
        self.site = site
        self.viewport = viewport
        self.phone = viewport == PHONE
        self.problems: list[str] = []

    def check(self, name: str) -> None:
        self.problems += describe_violations(name, self.site.serious_axe())
        overflow = self.site.overflow_at(self.viewport)
        if overflow:
            self.problems.append(f"{name} ({self.site.path}): {overflow}")

    def shot(self, name: str) -> None:
        if not self.phone:
            self.site.screenshot(name)
        elif name in PHONE_SHOTS:
            self.site.screenshot(f"{name}-phone")


@pytest.fixture
def till_pushes(sandboxes, live_server, settings):
    """The Evotor sandbox posts its change events, signed, to the site (as Evotor's push does)."""
    settings.EVOTOR_INTAKE = ["push"]
    settings.EVOTOR_WEBHOOK_SECRET = PUSH_SECRET
    settings.EVOTOR_PUSH_SECRET = ""
    sandboxes.evotor.events.configure_push(f"{live_server.url}/evotor/events", PUSH_SECRET)
    yield sandboxes
    sandboxes.evotor.events.configure_push(None)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366px", "390px"])
def test_a_new_merchant_signs_up_connects_publishes_and_a_till_price_reaches_vk(
    site, till_pushes, viewport
):
    sandboxes = till_pushes
    page = site.page
    page.set_viewport_size(viewport)
    walk = Walk(site, viewport)

    # --- sign up ---------------------------------------------------------------------------
    site.visit("accounts:register")
    walk.check("register")
    page.fill("#id_email", EMAIL)
    page.fill("#id_full_name", "Анна Кофейникова")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert site.path == "/accounts/register/done/", site.main_text()
    expect(page.locator("main")).to_contain_text(EMAIL)
    walk.check("register done")
    assert User.objects.get(email=EMAIL).status == Status.PENDING

    # --- confirm the e-mail with the link from the letter the test backend kept --------------
    letters = [m for m in mail.outbox if EMAIL in m.to]
    assert letters, "no confirmation e-mail was sent"
    link = CONFIRM_LINK.search(letters[-1].body)
    assert link, letters[-1].body
    site.visit(link.group(0))
    assert site.path == "/accounts/login/"
    assert "подтвержд" in site.messages().lower(), site.messages()
    walk.check("login")
    site.login(EMAIL, PASSWORD)
    user = User.objects.get(email=EMAIL)
    assert user.status == Status.ACTIVE
    walk.check("first page after login")

    # --- VK in one click: «Подключить ВКонтакте», allow at VK ID, choose the community ------
    site.visit("connections:vk")
    walk.check("VK connection, empty")
    with page.expect_navigation():
        page.get_by_role("button", name="Подключить ВКонтакте").click()
    assert page.url.startswith(sandboxes.vk.public_url + "/id/authorize"), page.url
    with page.expect_navigation(url="**/connections/vk/communities/"):
        page.get_by_role("button", name="Разрешить").click()
    walk.check("VK communities")
    walk.shot("vk-communities")
    page.get_by_label("Демо-магазин").check()
    with page.expect_navigation(url="**/connections/vk/"):
        page.get_by_role("button", name="Выбрать это сообщество").click()
    expect(page.locator("#vk-status .badge-ok")).to_be_visible()
    expect(page.locator("main .messages")).to_contain_text("Демо-магазин")
    walk.check("VK connection, connected")
    walk.shot("connections-vk")

    # --- Evotor with the sandbox's token: saving checks it and reads the catalog -------------
    site.visit("connections:evotor")
    walk.check("Evotor connection, empty")
    page.fill("#id_token", EVOTOR_TOKEN)
    with page.expect_navigation():
        page.click("form[action$='/evotor/save/'] button[type=submit]")
    assert site.path == "/connections/evotor/", site.path
    expect(page.locator("#evotor-status .badge-ok")).to_be_visible()
    page.click("form[action$='/evotor/test/'] button[type=submit]")
    expect(page.locator("#evotor-test-result")).to_have_class(re.compile(r"badge-ok"))
    walk.check("Evotor connection")
    walk.shot("connections-evotor")

    # --- choose the store, and of its groups only the breakfasts ------------------------------
    site.visit("catalog:stores")
    store = CachedStore.objects.get(user=user, name=COFFEE_SHOP)
    card = page.locator(f"#store-{store.pk}")
    card.locator("button[type=submit]").click()
    expect(card.locator(".badge-ok")).to_be_visible()
    walk.check("catalog stores")
    walk.shot("catalog-stores")

    site.visit("catalog:groups", store.pk)
    tree = page.locator("#group-tree")
    leave_out = tree.locator("form:has(input[name=enabled][value='0']) button")
    remaining = leave_out.count()
    assert remaining == 5, tree.inner_text()  # the coffee shop's five top-level groups
    while remaining:
        leave_out.first.click()
        remaining -= 1
        expect(leave_out).to_have_count(remaining)
    kept = page.locator("#group-tree li", has=page.locator(f"a:text-is('{KEPT_GROUP}')")).first
    kept.locator("button[type=submit]").click()
    expect(kept.locator(".badge-ok")).to_be_visible()
    walk.check("catalog groups")
    walk.shot("catalog-groups")

    # --- the preview refuses to publish without a VK category and links to the setting -------
    site.visit("sync:preview")
    refusal = page.locator("[data-refusal=no_category]").first
    expect(refusal).to_be_visible()
    walk.check("preview without a category")
    with page.expect_navigation():
        refusal.get_by_role("link").click()
    assert site.path == "/sync/settings", site.path
    category = page.locator("#id_vk_category_id")
    values = [v for v in category.locator("option").evaluate_all("os => os.map(o => o.value)") if v]
    assert values, "the category list is empty"
    category.select_option(values[0])
    walk.check("publishing settings")
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert site.path == "/sync/settings", site.main_text()

    # --- the preview: what would go to VK, with the products' photos --------------------------
    site.visit("sync:preview")
    for name in EXPECTED_ITEMS:
        expect(page.locator("main")).to_contain_text(name)
    # Two of the five have no picture in Evotor: shown as not sent, with an upload link.
    expect(page.locator("#flagged [data-flag=no_photo]")).to_have_count(2)
    assert int(page.inner_text("#plan-counts [data-count=create] .count")) == 3
    # The three with a picture show it, small, through the site (never Evotor's own URL).
    photos = page.locator("main img.thumb-sm[src*='/sync/preview/evotor-photo/']")
    expect(photos).to_have_count(3)
    photos.first.scroll_into_view_if_needed()
    expect(photos.first).to_have_js_property("complete", True)
    assert photos.first.evaluate("img => img.naturalWidth") > 0, "the Evotor photo did not load"
    walk.check("preview")
    walk.shot("preview")

    # --- publish, and the run's page ----------------------------------------------------------
    with page.expect_navigation():
        page.click("form[action$='/sync/publish'] button[type=submit]")
    assert re.fullmatch(r"/sync/runs/\d+", site.path), site.path
    run = SyncRun.objects.filter(user=user).latest("pk")
    # The two without a photo are left for a fix, so the run is done with problems (not
    # green), and says why with a link to the default photo.
    assert run.status == RunStatus.PARTIAL, (run.status, run.error)
    assert (run.created, run.skipped, run.failed) == (3, 2, 0)
    expect(page.locator("#run-progress .badge-warn")).to_be_visible()
    expect(page.locator("#run-problem")).to_contain_text("2 товара пропущено: у них нет фото.")
    published = sorted(i["title"] for i in sandboxes.vk_items())
    assert len(published) == 3 and set(published) <= set(EXPECTED_ITEMS), published
    walk.check("run detail")
    walk.shot("run-detail")

    site.visit("vk_catalog:products")
    for name in published:
        expect(page.locator("main table")).to_contain_text(name)
    walk.check("VK catalog items")

    # --- a price changed at the Evotor sandbox's till arrives in VK ---------------------------
    name = published[0]
    product = CachedProduct.objects.get(user=user, store=store, name=name)
    page.goto(f"{sandboxes.evotor.public_url}/till")
    form = page.locator(
        "form",
        has=page.locator(f"input[name=product_id][value='{product.evotor_id}']"),
    ).filter(has=page.locator(f"input[name=store_id][value='{store.evotor_id}']"))
    form.locator("input[name=price]").fill(str(NEW_PRICE))
    with page.expect_navigation():
        form.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_role("status")).to_contain_text(f"Сохранено: {name}")
    # The till's answer came after the push was answered, and the push's run ran inline.
    assert sandboxes.evotor.events.pushed >= 1 and sandboxes.evotor.events.push_failures == 0
    in_vk = next(i for i in sandboxes.vk_items() if i["title"] == name)
    assert int(in_vk["price"]["amount"]) == NEW_PRICE * 100, in_vk["price"]
    change_run = SyncRun.objects.filter(user=user).latest("pk")
    assert change_run.trigger == RunTrigger.EVOTOR_CHANGE, change_run.trigger
    assert change_run.updated == 1, (change_run.status, change_run.updated, change_run.error)

    site.visit("vk_catalog:products")
    expect(page.locator("main tr", has_text=name)).to_contain_text(f"{NEW_PRICE} ₽")
    walk.shot("vk-catalog")

    # --- the dashboard and the history after the first day ------------------------------------
    site.visit("sync:dashboard")
    expect(page.locator("[data-connection=vk] .badge-ok")).to_be_visible()
    walk.check("dashboard")
    walk.shot("dashboard")
    site.visit("sync:runs")
    expect(page.locator("main table tbody tr")).to_have_count(2)
    walk.check("run history")

    assert not walk.problems, (
        f"{len(walk.problems)} problems at {viewport['width']} px:\n" + "\n".join(walk.problems)
    )
