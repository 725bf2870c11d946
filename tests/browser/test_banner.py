"""Access withdrawn in VK, in a real browser: the next run fails, and a banner on every page says
what happened and links to the page where it is fixed (sync/alerts.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sync.models import ItemLink, RunStatus, SyncRun
from tests.browser.conftest import VK_TOKEN
from tests.browser.helpers import describe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_vk_token_withdrawn_turns_into_a_banner_on_every_page(
    site, published_shop, sandboxes, password
):
    page = site.page
    user, store = published_shop.user, published_shop.store
    site.login(user.email, password)
    in_vk = ItemLink.objects.filter(user=user, vk_item_id__isnull=False).first()
    sandboxes.vk.revoke_token(VK_TOKEN)  # the person withdrew the app's access in VK
    sandboxes.evotor.set_product(store.evotor_id, in_vk.product_id, price=520)

    # The Evotor refresh finds the change and publishes it: VK refuses the token.
    site.visit("catalog:stores")
    with page.expect_navigation():
        page.click("form[action$='/catalog/refresh'] button[type=submit]")
    failed = SyncRun.objects.filter(user=user).latest("pk")
    assert failed.pk != published_shop.run.pk
    assert failed.status in (RunStatus.FAILED, RunStatus.STOPPED), failed.status

    site.visit("sync:dashboard")
    banner = page.locator(".banner[data-alert-cause=token_revoked]")
    expect(banner).to_be_visible()
    expect(banner.locator("a")).to_have_attribute("href", "/connections/vk/")
    expect(page.locator("[data-connection=vk] .badge-err")).to_be_visible()
    assert not describe_violations("dashboard with a banner", site.serious_axe())
    site.screenshot("banner")

    # "A banner on every page", not only on the dashboard.
    site.visit("catalog:stores")
    expect(banner).to_be_visible()
