"""Installation and subscription events (docs/contracts/evotor-api.md §7.4): applied once, in order."""

from __future__ import annotations

import pytest

from connections.models import ConnectionState
from tests.webhooks.conftest import EVOTOR_USER, error_codes
from webhooks.models import EventOutcome, EvotorEvent

pytestmark = pytest.mark.django_db

CLOUD_TOKEN = "f46b89a5-8e80-4591-b0aa-94551790444b"


def event(
    kind: str, event_id: str, timestamp: int = 1504168645290, user: str = EVOTOR_USER
) -> dict:
    return {
        "id": event_id,
        "timestamp": timestamp,
        "version": 2,
        "type": kind,
        "data": {"productId": "c1a4d8e2-app", "userId": user},
    }


@pytest.fixture
def connected(linked_owner):
    linked_owner.cloud_token = CLOUD_TOKEN
    linked_owner.save()
    return linked_owner


def test_uninstalling_switches_the_connection_off_and_keeps_the_data(post, connected):
    response = post("/installation/event", event("ApplicationUninstalled", "e-1"))
    assert response.status_code == 200 and response.json() == {}
    connected.refresh_from_db()
    assert connected.state == ConnectionState.DISABLED
    assert connected.cloud_token == CLOUD_TOKEN
    assert "удалено" in connected.last_error
    assert EvotorEvent.objects.get(event_id="e-1").outcome == EventOutcome.APPLIED


def test_installing_again_switches_it_back_on(post, connected):
    post("/installation/event", event("ApplicationUninstalled", "e-1", 1000))
    post("/installation/event", event("ApplicationInstalled", "e-2", 2000))
    connected.refresh_from_db()
    assert (connected.state, connected.last_error) == (ConnectionState.OK, "")


def test_a_replayed_event_is_applied_only_once(post, connected):
    post("/installation/event", event("ApplicationUninstalled", "e-1", 1000))
    post("/installation/event", event("ApplicationInstalled", "e-2", 2000))
    response = post("/installation/event", event("ApplicationUninstalled", "e-1", 1000))
    assert response.status_code == 200
    connected.refresh_from_db()
    assert connected.state == ConnectionState.OK
    assert EvotorEvent.objects.filter(event_id="e-1").count() == 1


def test_an_older_event_arriving_late_does_not_undo_a_newer_one(post, connected):
    post("/installation/event", event("ApplicationInstalled", "e-2", 2000))
    post("/installation/event", event("ApplicationUninstalled", "e-1", 1000))
    connected.refresh_from_db()
    assert connected.state == ConnectionState.OK
    assert EvotorEvent.objects.get(event_id="e-1").outcome == EventOutcome.STALE


def test_installing_does_not_mend_a_broken_token(post, connected):
    connected.state = ConnectionState.BROKEN
    connected.save()
    post("/installation/event", event("ApplicationInstalled", "e-3"))
    connected.refresh_from_db()
    assert connected.state == ConnectionState.BROKEN


def test_events_for_an_unknown_evotor_user_are_acknowledged(post):
    response = post(
        "/installation/event", event("ApplicationUninstalled", "e-9", user="01-000000000000999")
    )
    assert response.status_code == 200
    assert EvotorEvent.objects.get(event_id="e-9").outcome == EventOutcome.UNKNOWN_USER


def test_unknown_event_types_are_acknowledged_so_evotor_stops_retrying(post, connected):
    response = post("/installation/event", event("ApplicationUpdated", "e-5"))
    assert response.status_code == 200
    connected.refresh_from_db()
    assert connected.state == ConnectionState.OK
    assert EvotorEvent.objects.get(event_id="e-5").outcome == EventOutcome.IGNORED


def test_events_of_another_app_are_ignored(settings, post, connected):
    settings.EVOTOR_APP_ID = "our-app-id"
    post("/installation/event", event("ApplicationUninstalled", "e-6"))
    connected.refresh_from_db()
    assert connected.state == ConnectionState.OK


def test_the_old_user_field_name_and_a_string_timestamp_are_accepted(post, connected):
    body = {
        "id": "e-7",
        "timestamp": "1504168645290",
        "type": "ApplicationUninstalled",
        "data": {"userUuid": EVOTOR_USER},
    }
    assert post("/installation/event", body).status_code == 200
    connected.refresh_from_db()
    assert connected.state == ConnectionState.DISABLED
    assert EvotorEvent.objects.get(event_id="e-7").occurred_at.year == 2017


def test_events_may_carry_the_users_evosync_token_instead_of_the_secret(post, connected):
    response = post(
        "/installation/event",
        event("ApplicationUninstalled", "e-8"),
        authorization=f"Bearer {connected.api_token}",
    )
    assert response.status_code == 200
    connected.refresh_from_db()
    assert connected.state == ConnectionState.DISABLED


def test_another_users_token_does_not_authorize_an_event(post, connected, other_merchant):
    from connections.models import EvotorConnection

    other = EvotorConnection.objects.create(
        user=other_merchant, evotor_user_id="01-000000000000456"
    )
    response = post(
        "/installation/event",
        event("ApplicationUninstalled", "e-10"),
        authorization=f"Bearer {other.api_token}",
    )
    assert response.status_code == 401 and error_codes(response) == [1001]
    connected.refresh_from_db()
    assert connected.state == ConnectionState.OK


@pytest.mark.parametrize(
    "body",
    [
        {"id": "e-11", "data": {"userId": EVOTOR_USER}},
        {"id": "e-11", "type": "ApplicationUninstalled", "data": "not an object"},
        {"id": "e-11", "type": "ApplicationUninstalled", "data": {}},
    ],
)
def test_a_malformed_installation_event_is_a_400_in_evotors_format(post, connected, body):
    response = post("/installation/event", body)
    assert response.status_code == 400
    assert error_codes(response)[0] in (2002, 2003)
    assert not EvotorEvent.objects.exists()


def test_subscription_events_are_acknowledged_and_recorded_once(post, connected):
    body = {
        "subscriptionId": "sub-1",
        "productId": "c1a4d8e2-app",
        "userId": EVOTOR_USER,
        "timestamp": "2017-04-20T18:26:37.753+0000",
        "sequenceNumber": 1,
        "type": "SubscriptionCreated",
        "planId": "basic",
    }
    assert post("/subscription/event", body).status_code == 200
    assert post("/subscription/event", body).status_code == 200
    (recorded,) = EvotorEvent.objects.filter(kind="subscription")
    assert (recorded.event_id, recorded.event_type) == ("sub-1:1", "SubscriptionCreated")
    connected.refresh_from_db()
    assert connected.state == ConnectionState.OK


def test_events_without_a_secret_are_refused(post, connected):
    response = post(
        "/installation/event", event("ApplicationUninstalled", "e-12"), authorization=None
    )
    assert response.status_code == 401
    connected.refresh_from_db()
    assert connected.state == ConnectionState.OK


def test_the_event_log_is_read_only_in_the_admin(post, connected, client):
    from accounts.models import Role
    from tests.conftest import make_user

    client.force_login(make_user("root@example.ru", role=Role.SYSTEM))
    post("/installation/event", event("ApplicationUninstalled", "e-13"))
    response = client.get("/admin/webhooks/evotorevent/")
    assert response.status_code == 200
    assert "ApplicationUninstalled" in response.content.decode()
    assert client.get("/admin/webhooks/evotorevent/add/").status_code == 403


@pytest.mark.parametrize("timestamp", ["²", "١٢٣", "12³"])
def test_a_timestamp_of_non_ascii_digits_is_no_time_not_a_server_error(post, connected, timestamp):
    # `str.isdigit` is true for these, `int` refuses them: found by the schema property test.
    body = {
        "subscriptionId": "sub-2",
        "productId": "c1a4d8e2-app",
        "userId": EVOTOR_USER,
        "timestamp": timestamp,
        "sequenceNumber": 1,
        "type": "SubscriptionCreated",
        "planId": "basic",
    }
    assert post("/subscription/event", body).status_code == 200
    assert EvotorEvent.objects.get(event_id="sub-2:1").occurred_at is None
