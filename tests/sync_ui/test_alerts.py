"""Alerts: one active alert per cause, an e-mail at most once a day per cause, banners."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from sync.alerts import alert_raise, alert_resolve
from sync.models import Alert, AlertCause, RunStatus
from tests.sync_ui.conftest import make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    """timezone.now() as the alerts module sees it, movable by the test."""
    now = [timezone.now()]
    with mock.patch("sync.alerts.timezone.now", side_effect=lambda: now[0]):
        yield now


@pytest.fixture
def raise_alert(django_capture_on_commit_callbacks):
    """alert_raise, with the e-mail sent as the caller's transaction commits."""

    def raise_(user, cause=AlertCause.TOKEN_REVOKED, message="VK refused the token."):
        with django_capture_on_commit_callbacks(execute=True):
            return alert_raise(user=user, cause=cause, message=message)

    return raise_


def test_raising_an_alert_emails_the_merchant_with_a_link_to_fix_it(
    raise_alert, owner, mailoutbox, clock
):
    alert = raise_alert(owner)
    assert alert.resolved_at is None
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [owner.email]
    assert "EvoSync" in mail.subject
    assert "VK refused the token." in mail.body
    assert "http" in mail.body and reverse("connections:vk") in mail.body
    html = mail.alternatives[0][0]
    assert reverse("connections:vk") in html


def test_the_same_cause_again_the_same_day_updates_the_alert_without_a_second_email(
    raise_alert, owner, mailoutbox, clock
):
    first = raise_alert(owner, message="first")
    clock[0] += timedelta(hours=5)
    second = raise_alert(owner, message="second")
    assert second.pk == first.pk
    assert Alert.objects.get(pk=first.pk).message == "second"
    assert Alert.objects.filter(user=owner).count() == 1
    assert len(mailoutbox) == 1


def test_a_day_later_the_merchant_is_emailed_again(raise_alert, owner, mailoutbox, clock):
    raise_alert(owner)
    clock[0] += timedelta(hours=23, minutes=59)
    raise_alert(owner)
    assert len(mailoutbox) == 1
    clock[0] += timedelta(minutes=2)
    raise_alert(owner)
    assert len(mailoutbox) == 2


def test_a_resolved_and_raised_again_cause_waits_for_the_day_to_pass(
    raise_alert, owner, mailoutbox, clock
):
    raise_alert(owner)
    clock[0] += timedelta(hours=1)
    assert alert_resolve(user=owner, cause=AlertCause.TOKEN_REVOKED) == 1
    clock[0] += timedelta(hours=1)
    again = raise_alert(owner)
    assert Alert.objects.filter(user=owner).count() == 2
    assert again.resolved_at is None
    assert len(mailoutbox) == 1  # a flapping token does not flood the inbox


def test_each_cause_has_its_own_daily_email(raise_alert, owner, mailoutbox, clock):
    raise_alert(owner, AlertCause.TOKEN_REVOKED)
    raise_alert(owner, AlertCause.MARKET_OFF, "Market off")
    raise_alert(owner, AlertCause.CAPTCHA, "captcha")
    assert len(mailoutbox) == 3
    assert Alert.objects.filter(user=owner, resolved_at__isnull=True).count() == 3


def test_another_merchants_alerts_do_not_count(
    raise_alert, owner, other_merchant, mailoutbox, clock
):
    raise_alert(owner)
    raise_alert(other_merchant)
    assert len(mailoutbox) == 2


def test_a_failed_delivery_is_retried_at_the_next_raise(raise_alert, owner, mailoutbox, clock):
    with mock.patch(
        "accounts.emails.EmailMultiAlternatives.send", side_effect=OSError("smtp down")
    ):
        raise_alert(owner)
    assert len(mailoutbox) == 0
    assert Alert.objects.get(user=owner).last_emailed_at is None
    raise_alert(owner)
    assert len(mailoutbox) == 1


def test_the_email_waits_for_the_callers_transaction(
    owner, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alert_raise(user=owner, cause=AlertCause.MARKET_OFF, message="off")
    assert len(mailoutbox) == 0
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(mailoutbox) == 1


def test_an_unknown_cause_is_a_programming_error(owner):
    with pytest.raises(ValueError):
        alert_raise(user=owner, cause="aliens", message="?")


def test_active_alerts_are_banners_on_the_dashboard_with_the_fix_link(owner_client, owner):
    Alert.objects.create(user=owner, cause=AlertCause.MARKET_OFF, message="Товары выключены")
    Alert.objects.create(
        user=owner, cause=AlertCause.CAPTCHA, message="old", resolved_at=timezone.now()
    )
    page = owner_client.get(reverse("sync:dashboard")).content.decode()
    assert 'data-alert-cause="market_off"' in page
    assert "Товары выключены" in page
    assert reverse("connections:vk") in page
    assert 'data-alert-cause="captcha"' not in page


def test_the_base_template_shows_the_signed_in_merchants_alerts_on_any_page(owner, other_merchant):
    from django.contrib.auth.models import AnonymousUser
    from django.template.loader import render_to_string

    Alert.objects.create(user=owner, cause=AlertCause.TOKEN_REVOKED, message="Токен отозван")
    request = RequestFactory().get("/")
    request.user = owner
    assert "Токен отозван" in render_to_string("base.html", request=request)
    request.user = other_merchant
    assert "Токен отозван" not in render_to_string("base.html", request=request)
    request.user = AnonymousUser()
    assert "data-alert-cause" not in render_to_string("base.html", request=request)


def test_the_base_template_loads_no_app_tags():
    from pathlib import Path

    from django.conf import settings

    base = Path(settings.BASE_DIR, "templates", "base.html").read_text(encoding="utf-8")
    loads = re.findall(r"{%\s*load\s+([^%]*)%}", base)
    # Django's own libraries and the frame's (evosync/templatetags/site_tags.py, the lowest layer).
    assert [names.split() for names in loads] == [["i18n", "static", "site_tags"]]
    assert "sync_" not in base and "'sync:" not in base


def test_a_removal_guard_banner_links_to_the_held_runs_confirmation(owner_client, owner):
    held = make_run(owner, status=RunStatus.HELD)
    Alert.objects.create(user=owner, cause=AlertCause.REMOVAL_GUARD, message="held")
    page = owner_client.get(reverse("sync:dashboard")).content.decode()
    assert reverse("sync:run_confirm", args=[held.pk]) in page


def test_dismissing_a_banner_resolves_the_alert(owner_client, owner):
    alert = Alert.objects.create(user=owner, cause=AlertCause.CAPTCHA, message="captcha")
    response = owner_client.post(reverse("sync:alert_dismiss", args=[alert.pk]))
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.resolved_at is not None


def test_the_page_an_alert_links_to_shows_no_banner_for_it(owner_client, owner):
    from connections.models import VkConnection

    VkConnection.objects.create(user=owner, access_token="t", group_id=1, last_error="Отозван")
    Alert.objects.create(user=owner, cause=AlertCause.TOKEN_REVOKED, message="Отозван")
    Alert.objects.create(user=owner, cause=AlertCause.MARKET_OFF, message="Товары выключены")
    page = owner_client.get(reverse("connections:vk")).content.decode()
    # Both alerts are fixed on the VK page: its state block says it, no banner repeats it.
    assert 'data-alert-cause="token_revoked"' not in page
    assert 'data-alert-cause="market_off"' not in page
    dashboard = owner_client.get(reverse("sync:dashboard")).content.decode()
    assert 'data-alert-cause="token_revoked"' in dashboard
