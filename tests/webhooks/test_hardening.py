"""Webhook hardening (issue 13): future-dated events (7), a short secret and guessed secrets
(11), the database down (12), /health and other methods (16)."""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
from django.db import OperationalError, connection
from django.test import Client

from connections.models import ConnectionState
from tests.foundation.helpers import production_env, run_manage
from tests.webhooks.conftest import EVOTOR_USER, SECRET, error_codes
from webhooks.models import EventOutcome, EvotorEvent
from webhooks.views import AUTH_FAILURES_PER_MINUTE

pytestmark = pytest.mark.django_db

YEAR_MS = 365 * 24 * 3600 * 1000


def event(kind: str, event_id: str, timestamp_ms: int) -> dict:
    return {
        "id": event_id,
        "timestamp": timestamp_ms,
        "type": kind,
        "data": {"userId": EVOTOR_USER},
    }


@pytest.fixture
def connected(linked_owner):
    return linked_owner


def test_an_event_dated_next_year_does_not_make_a_genuine_reinstall_stale(post, connected):
    now_ms = int(time.time() * 1000)
    future = event("ApplicationUninstalled", "e-1", now_ms + YEAR_MS)
    assert post("/installation/event", future).status_code == 200
    genuine = event("ApplicationInstalled", "e-2", now_ms + 1000)
    assert post("/installation/event", genuine).status_code == 200
    assert EvotorEvent.objects.get(event_id="e-2").outcome == EventOutcome.APPLIED
    connected.refresh_from_db()
    assert connected.state == ConnectionState.OK


def test_a_late_genuine_event_is_still_stale_after_a_newer_one(post, connected):
    now_ms = int(time.time() * 1000)
    post("/installation/event", event("ApplicationInstalled", "e-1", now_ms))
    post("/installation/event", event("ApplicationUninstalled", "e-0", now_ms - 60_000))
    assert EvotorEvent.objects.get(event_id="e-0").outcome == EventOutcome.STALE


@contextmanager
def database_down():
    def refuse(execute, sql, params, many, context):
        raise OperationalError('(2002, "Can\'t connect to server")')

    with connection.execute_wrapper(refuse):
        yield


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/user/create", {"userId": EVOTOR_USER, "email": "new@example.ru"}),
        ("/user/token", {"userId": EVOTOR_USER, "token": "x" * 40}),
        ("/installation/event", event("ApplicationUninstalled", "e-9", 1)),
    ],
)
def test_with_the_database_down_webhooks_answer_in_evotors_json_format(post, path, body):
    with database_down():
        response = post(path, body)
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert error_codes(response) == [5003]


def test_an_event_with_a_user_token_and_the_database_down_answers_json(post):
    with database_down():
        response = post(
            "/installation/event",
            event("ApplicationUninstalled", "e-9", 1),
            authorization="Bearer some-user-token",
        )
    assert response.status_code == 503 and error_codes(response) == [5003]


def test_guessing_the_secret_is_throttled_per_address(post):
    for _ in range(AUTH_FAILURES_PER_MINUTE):
        assert post("/user/token", {}, authorization="Bearer guess").status_code == 401
    refused = post("/user/token", {}, authorization=f"Bearer {SECRET}")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert error_codes(refused) == [1001]
    other = Client(REMOTE_ADDR="198.51.100.20")
    response = other.post(
        "/user/token",
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {SECRET}",
    )
    assert response.status_code == 400


def test_production_refuses_a_short_webhook_secret(tmp_path):
    result = run_manage("check", env=production_env(tmp_path, EVOTOR_WEBHOOK_SECRET="short"))
    assert result.returncode != 0
    assert "EVOTOR_WEBHOOK_SECRET must be at least 32 characters" in result.stderr


def test_production_accepts_a_secret_like_evotors(tmp_path):
    result = run_manage("check", env=production_env(tmp_path, EVOTOR_WEBHOOK_SECRET=SECRET))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_health_answers_another_method_with_405_not_a_csrf_403(method):
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)("/health")
    assert response.status_code == 405
