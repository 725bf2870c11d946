"""Alerts for broken connections found outside publishing: an Evotor or VK catalog refresh (or a
connection test) that finds the token revoked, VK's Market switched off; and their resolution
once the connection works again (connections and vk_catalog only send signals)."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.services import catalog_refresh_for_user
from connections.evotor_services import (
    evotor_connection_disconnect,
    evotor_connection_mark_broken,
    evotor_connection_receive_token,
    evotor_connection_save_token,
)
from connections.models import ConnectionState, EvotorConnection, VkConnection
from connections.signals import connection_broken, connection_restored
from connections.vk_errors import VkMarketDisabledError
from connections.vk_services import (
    vk_connection_disconnect,
    vk_connection_mark_broken,
    vk_connection_mark_ok,
    vk_connection_record_error,
    vk_connection_save,
)
from sync.models import Alert, AlertCause
from tests.sync_ui.conftest import EVOTOR_TOKEN, VK_GROUP, VK_TOKEN
from vk_catalog.models import RefreshStatus
from vk_catalog.services import vk_catalog_refresh_for_user

pytestmark = pytest.mark.django_db


def active(user, cause=None):
    alerts = Alert.objects.filter(user=user, resolved_at__isnull=True)
    return alerts.filter(cause=cause) if cause else alerts


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Runs a call and then what it queued for after commit (the alert e-mail)."""

    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


@pytest.fixture
def store(connected, evotor_sandbox):
    """The owner's Evotor account with one store, so a refresh has something to read."""
    return evotor_sandbox.add_store(name="Лавка", user_id="01-000000000000888")


# --- Evotor ------------------------------------------------------------------------------------
def test_a_refresh_that_finds_the_evotor_token_revoked_alerts_the_merchant(
    owner, store, evotor_sandbox, commit, mailoutbox, owner_client
):
    evotor_sandbox.remove_token(EVOTOR_TOKEN)

    result = commit(catalog_refresh_for_user, user=owner)

    assert not result.ok
    assert EvotorConnection.objects.get(user=owner).state == ConnectionState.BROKEN
    alert = active(owner).get()
    assert alert.cause == AlertCause.EVOTOR_TOKEN_REVOKED
    assert alert.message == EvotorConnection.objects.get(user=owner).last_error
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [owner.email]
    assert reverse("connections:evotor") in mailoutbox[0].body
    # The banner is on every page, the catalog's included.
    html = owner_client.get(reverse("catalog:stores")).content.decode()
    assert 'data-alert-cause="evotor_token_revoked"' in html
    assert reverse("connections:evotor") in html


def test_a_connection_already_broken_raises_nothing_new(owner, store, evotor_sandbox, commit):
    evotor_sandbox.remove_token(EVOTOR_TOKEN)
    commit(catalog_refresh_for_user, user=owner)
    Alert.objects.update(resolved_at=timezone.now())  # the merchant dismissed it
    connection = EvotorConnection.objects.get(user=owner)

    commit(evotor_connection_mark_broken, connection, "Again.")

    assert not active(owner).exists()


def test_the_evotor_alert_is_emailed_at_most_once_a_day(
    owner, store, evotor_sandbox, commit, mailoutbox
):
    evotor_sandbox.remove_token(EVOTOR_TOKEN)
    commit(catalog_refresh_for_user, user=owner)
    # The merchant pastes another token Evotor does not accept either: saved, then broken again.
    # (Saving queues a refresh after commit; here the test runs that refresh itself.)
    evotor_connection_save_token(user=owner, token=EVOTOR_TOKEN + "-new")
    assert not active(owner).exists()
    commit(catalog_refresh_for_user, user=owner)
    assert active(owner, AlertCause.EVOTOR_TOKEN_REVOKED).count() == 1
    assert len(mailoutbox) == 1
    later = timezone.now() + timedelta(days=1, minutes=1)
    evotor_connection_save_token(user=owner, token=EVOTOR_TOKEN + "-newer")
    with mock.patch("sync.alerts.timezone.now", return_value=later):
        commit(catalog_refresh_for_user, user=owner)
    assert len(mailoutbox) == 2


def test_saving_a_new_evotor_token_resolves_the_alert(
    owner_client, owner, store, evotor_sandbox, commit
):
    evotor_sandbox.remove_token(EVOTOR_TOKEN)
    commit(catalog_refresh_for_user, user=owner)
    evotor_sandbox.add_token("a-brand-new-evotor-token", "01-000000000000888")

    response = owner_client.post(
        reverse("connections:evotor_save"), {"token": "a-brand-new-evotor-token"}
    )

    assert response.status_code == 302
    assert not active(owner).exists()
    assert Alert.objects.get(user=owner).resolved_at is not None


def test_a_new_token_delivered_by_evotor_resolves_the_alert(owner, store, evotor_sandbox, commit):
    evotor_sandbox.remove_token(EVOTOR_TOKEN)
    commit(catalog_refresh_for_user, user=owner)

    # What Evotor's /user/token webhook does when the merchant reinstalls the app.
    evotor_connection_receive_token(
        connection=EvotorConnection.objects.get(user=owner), token="a-reinstalled-evotor-token"
    )

    assert EvotorConnection.objects.get(user=owner).state == ConnectionState.OK
    assert not active(owner).exists()


def test_a_passing_evotor_test_resolves_the_alert(
    owner_client, owner, store, evotor_sandbox, commit
):
    evotor_sandbox.remove_token(EVOTOR_TOKEN)
    commit(catalog_refresh_for_user, user=owner)
    evotor_sandbox.add_token(EVOTOR_TOKEN, "01-000000000000888")

    owner_client.post(reverse("connections:evotor_test"))

    assert EvotorConnection.objects.get(user=owner).state == ConnectionState.OK
    assert not active(owner).exists()


def test_disconnecting_evotor_resolves_its_alert_only(owner, store, evotor_sandbox, commit):
    evotor_sandbox.remove_token(EVOTOR_TOKEN)
    commit(catalog_refresh_for_user, user=owner)
    commit(vk_connection_mark_broken, VkConnection.objects.get(user=owner), "VK said no.")

    evotor_connection_disconnect(connection=EvotorConnection.objects.get(user=owner))

    assert list(active(owner).values_list("cause", flat=True)) == [AlertCause.TOKEN_REVOKED]


# --- VK ----------------------------------------------------------------------------------------
def test_a_vk_catalog_refresh_that_finds_the_token_revoked_alerts_the_merchant(
    owner, connected, fast_vk, commit, mailoutbox
):
    fast_vk.revoke_token(VK_TOKEN)

    run = commit(vk_catalog_refresh_for_user, user=owner)

    assert run.status == RefreshStatus.FAILED and run.error_code == 5
    assert VkConnection.objects.get(user=owner).state == ConnectionState.BROKEN
    alert = active(owner).get()
    assert (alert.cause, alert.message) == (AlertCause.TOKEN_REVOKED, run.error)
    assert len(mailoutbox) == 1
    assert reverse("connections:vk") in mailoutbox[0].body


def test_a_vk_catalog_refresh_that_finds_the_market_off_alerts_the_merchant(
    owner, connected, fast_vk, commit, mailoutbox, owner_client
):
    fast_vk.set_market_enabled(VK_GROUP, False)

    run = commit(vk_catalog_refresh_for_user, user=owner)

    assert run.error_code == 1438
    alert = active(owner).get()
    assert (alert.cause, alert.message) == (AlertCause.MARKET_OFF, run.error)
    assert len(mailoutbox) == 1
    # Market off is not the token's fault: the connection keeps working and heals itself.
    assert VkConnection.objects.get(user=owner).state == ConnectionState.OK
    html = owner_client.get(reverse("vk_catalog:albums")).content.decode()
    assert 'data-alert-cause="market_off"' in html

    # Again the same day: the same alert, no second e-mail.
    commit(vk_catalog_refresh_for_user, user=owner)
    assert active(owner).count() == 1 and len(mailoutbox) == 1

    fast_vk.set_market_enabled(VK_GROUP, True)
    run = commit(vk_catalog_refresh_for_user, user=owner)
    assert run.status == RefreshStatus.OK
    assert not active(owner).exists()


def test_other_vk_refresh_failures_raise_no_alert(owner, connected, fast_vk, commit, mailoutbox):
    fast_vk.fail(14, count=1)  # a captcha on reading is shown on the page, not alerted

    run = commit(vk_catalog_refresh_for_user, user=owner)

    assert run.status == RefreshStatus.FAILED
    assert not active(owner).exists() and mailoutbox == []


def test_a_vk_test_that_finds_the_market_off_raises_market_off(
    owner_client, owner, connected, fast_vk, commit
):
    fast_vk.set_market_enabled(VK_GROUP, False)

    owner_client.post(reverse("connections:vk_test"))

    assert VkConnection.objects.get(user=owner).state == ConnectionState.BROKEN
    assert list(active(owner).values_list("cause", flat=True)) == [AlertCause.MARKET_OFF]

    fast_vk.set_market_enabled(VK_GROUP, True)
    owner_client.post(reverse("connections:vk_test"))
    assert VkConnection.objects.get(user=owner).state == ConnectionState.OK
    assert not active(owner).exists()


def test_a_passing_vk_test_clears_a_market_off_alert_raised_by_a_refresh(
    owner_client, owner, connected, fast_vk, commit
):
    fast_vk.set_market_enabled(VK_GROUP, False)
    commit(vk_catalog_refresh_for_user, user=owner)
    fast_vk.set_market_enabled(VK_GROUP, True)

    owner_client.post(reverse("connections:vk_test"))

    assert not active(owner).exists()


def test_saving_a_new_vk_token_resolves_the_token_alert(
    owner_client, owner, connected, fast_vk, commit
):
    fast_vk.revoke_token(VK_TOKEN)
    commit(vk_catalog_refresh_for_user, user=owner)
    fast_vk.add_token("vk-brand-new-token", user_id=1001)

    response = owner_client.post(
        reverse("connections:vk_save"),
        {"access_token": "vk-brand-new-token", "community": str(VK_GROUP)},
    )

    assert response.status_code == 302, response.content.decode()[:500]
    assert VkConnection.objects.get(user=owner).state == ConnectionState.OK
    assert not active(owner).exists()


def test_saving_the_same_vk_connection_again_keeps_the_alert(owner, connected, commit):
    commit(vk_connection_mark_broken, VkConnection.objects.get(user=owner), "VK said no.")

    vk_connection_save(user=owner, group_id=VK_GROUP)  # nothing changed: still broken

    assert active(owner, AlertCause.TOKEN_REVOKED).exists()


def test_disconnecting_vk_resolves_its_alerts(owner, connected, commit):
    commit(
        vk_connection_record_error,
        VkConnection.objects.get(user=owner),
        VkMarketDisabledError(1438),
    )
    assert list(active(owner).values_list("cause", flat=True)) == [AlertCause.MARKET_OFF]

    vk_connection_disconnect(user=owner)

    assert not active(owner).exists()


def test_a_staff_disabled_connection_raises_nothing(owner, connected, commit):
    VkConnection.objects.filter(user=owner).update(state=ConnectionState.DISABLED)

    commit(vk_connection_mark_broken, VkConnection.objects.get(user=owner), "VK said no.")

    assert VkConnection.objects.get(user=owner).state == ConnectionState.DISABLED
    assert not active(owner).exists()


def test_a_working_run_marks_ok_without_touching_other_causes(owner, connected, commit):
    commit(vk_connection_mark_broken, VkConnection.objects.get(user=owner), "VK said no.")
    Alert.objects.create(user=owner, cause=AlertCause.CAPTCHA, message="Captcha.")

    vk_connection_mark_ok(VkConnection.objects.get(user=owner))

    assert list(active(owner).values_list("cause", flat=True)) == [AlertCause.CAPTCHA]


# --- the signals themselves ---------------------------------------------------------------------
def test_signals_are_sent_only_when_the_state_changes(owner, connected):
    broken, restored = [], []

    def on_broken(sender, **kwargs):
        broken.append((sender, kwargs["vendor"], kwargs["reason"], kwargs["message"]))

    def on_restored(sender, **kwargs):
        restored.append((sender, kwargs["vendor"]))

    connection_broken.connect(on_broken)
    connection_restored.connect(on_restored)
    try:
        vk = VkConnection.objects.get(user=owner)
        vk_connection_record_error(vk, VkMarketDisabledError(1438))
        vk_connection_record_error(vk, VkMarketDisabledError(1438))
        vk_connection_mark_ok(vk)
        vk_connection_mark_ok(vk)
        evotor = EvotorConnection.objects.get(user=owner)
        evotor_connection_mark_broken(evotor, "Evotor said no.")
        evotor_connection_mark_broken(evotor, "Evotor said no.")
    finally:
        connection_broken.disconnect(on_broken)
        connection_restored.disconnect(on_restored)

    message = VkMarketDisabledError(1438).user_message
    assert broken == [
        (VkConnection, "vk", "market_off", message),
        (EvotorConnection, "evotor", "token", "Evotor said no."),
    ]
    assert restored == [(VkConnection, "vk")]


def test_a_failing_receiver_never_undoes_the_broken_state(owner, connected):
    def explode(sender, **kwargs):
        raise RuntimeError("receiver bug")

    connection_broken.connect(explode)
    try:
        evotor_connection_mark_broken(EvotorConnection.objects.get(user=owner), "Evotor said no.")
    finally:
        connection_broken.disconnect(explode)

    assert EvotorConnection.objects.get(user=owner).state == ConnectionState.BROKEN
    assert active(owner, AlertCause.EVOTOR_TOKEN_REVOKED).exists()
