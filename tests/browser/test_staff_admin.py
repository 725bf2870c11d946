"""Support staff in the Django admin, in a real browser: find a merchant, suspend and activate
them, invite someone who never confirmed, and open a merchant's sync run."""

from __future__ import annotations

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import Status, User
from sync.models import RunStatus, RunTrigger, SyncRun
from tests.browser.helpers import INVITE_LINK, PHONE
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def search_users(site, text: str) -> None:
    site.visit("admin:accounts_user_changelist")
    site.page.fill("#searchbar", text)
    with site.page.expect_navigation():
        site.page.press("#searchbar", "Enter")


def run_action(site, user: User, action: str) -> None:
    page = site.page
    page.check(f"input.action-select[value='{user.pk}']")
    page.select_option("select[name=action]", action)
    with page.expect_navigation():
        page.click("#changelist-form button[name=index]")


def test_staff_find_suspend_activate_invite_and_open_a_run(site, staff, owner, password):
    page = site.page
    pending = make_user(
        "never-confirmed@example.ru", status=Status.PENDING, full_name="Пётр Ждущий"
    )
    run = SyncRun.objects.create(
        user=owner,
        trigger=RunTrigger.SCHEDULE,
        status=RunStatus.PARTIAL,
        created=4,
        failed=1,
        error="ВКонтакте не принял один товар.",
    )

    site.login(staff.email, password)
    site.visit("admin:index")
    assert not site.overflow_at(PHONE), site.overflow_at(PHONE)

    # --- find the merchant by a piece of their name -----------------------------------------
    search_users(site, "Владелец")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(owner.email)
    site.screenshot("admin-users")

    # --- suspend them, with a reason -------------------------------------------------------------
    run_action(site, owner, "suspend_users")
    expect(page.locator("#content")).to_contain_text(owner.email)
    page.fill("#id_reason", "Жалоба покупателя, проверяем.")
    with page.expect_navigation():
        page.click("#content input[type=submit]")
    expect(page.locator("ul.messagelist")).to_be_visible()
    owner.refresh_from_db()
    assert owner.status == Status.SUSPENDED
    assert owner.suspension_reason == "Жалоба покупателя, проверяем."

    # --- and activate them again: they get an e-mail ---------------------------------------------
    search_users(site, owner.email)
    sent_before = len(mail.outbox)
    run_action(site, owner, "activate_users")
    expect(page.locator("ul.messagelist")).to_be_visible()
    owner.refresh_from_db()
    assert owner.status == Status.ACTIVE
    assert [m.to for m in mail.outbox[sent_before:]] == [[owner.email]]

    # --- invite the user who never confirmed -----------------------------------------------------
    search_users(site, "never-confirmed")
    run_action(site, pending, "send_invite")
    expect(page.locator("ul.messagelist .success")).to_be_visible()
    invites = [m for m in mail.outbox if pending.email in m.to]
    assert invites and INVITE_LINK.search(invites[-1].body), invites

    # --- open the merchant's sync run -------------------------------------------------------------
    site.visit("admin:sync_syncrun_changelist")
    assert not site.overflow_at(PHONE), site.overflow_at(PHONE)
    with page.expect_navigation():
        page.click(f"#result_list a[href$='/{run.pk}/change/']")
    expect(page.locator("#content")).to_contain_text(owner.email)
    expect(page.locator("#content")).to_contain_text("ВКонтакте не принял один товар.")
    site.screenshot("admin-sync-run")
