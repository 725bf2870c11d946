"""Fixtures for the webhooks Evotor calls: the app secret, and a poster speaking Evotor's way."""

from __future__ import annotations

import json

import pytest

from connections.models import EvotorConnection

SECRET = "0b7c6a1e-2f3d-4c5b-9a8e-7d6c5b4a3f21"
EVOTOR_USER = "01-000000000000123"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.EVOTOR_WEBHOOK_SECRET = SECRET
    settings.EVOTOR_WEBHOOK_BASIC_AUTH = ""
    return SECRET


@pytest.fixture(autouse=True)
def fresh_auth_throttle():
    """Refused secrets are counted per address in the cache, which Redis keeps between tests."""
    from django.core.cache import cache

    cache.delete("webhooks:401:127.0.0.1")
    yield
    cache.delete("webhooks:401:127.0.0.1")


@pytest.fixture
def post(client):
    """POST a JSON body (or raw bytes) the way Evotor does, with the app secret by default."""

    def send(path: str, body=None, *, authorization: str | None = f"Bearer {SECRET}", raw=None):
        headers = {"HTTP_ACCEPT": "application/json"}
        if authorization is not None:
            headers["HTTP_AUTHORIZATION"] = authorization
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return client.post(
            path, data=data, content_type="application/json;charset=UTF-8", **headers
        )

    return send


@pytest.fixture
def linked_owner(owner) -> EvotorConnection:
    """The owner's account, linked to Evotor user EVOTOR_USER, no cloud token yet."""
    owner.evotor_user_id = EVOTOR_USER
    owner.save(update_fields=["evotor_user_id"])
    return EvotorConnection.objects.create(user=owner, evotor_user_id=EVOTOR_USER)


def error_codes(response) -> list[int]:
    return [error["code"] for error in response.json()["errors"]]
