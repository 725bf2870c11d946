"""The token EvoSync issues to Evotor is encrypted at rest, and still works (issue 13, item 6)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.db import connection

from connections.crypto import decrypt
from connections.models import ConnectionState, EvotorConnection
from tests.webhooks.conftest import EVOTOR_USER

pytestmark = pytest.mark.django_db


def stored(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_token FROM connections_evotorconnection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_the_issued_token_is_not_stored_in_plain_text(post):
    response = post("/user/create", {"userId": EVOTOR_USER, "email": "new@example.ru"})
    token = response.json()["token"]
    connection_row = EvotorConnection.objects.get(evotor_user_id=EVOTOR_USER)
    assert token not in stored(connection_row.pk)
    assert decrypt(stored(connection_row.pk)) == token


def test_a_replayed_create_still_answers_the_same_token(post):
    body = {"userId": EVOTOR_USER, "email": "new@example.ru"}
    first = post("/user/create", body).json()["token"]
    assert post("/user/create", body).json()["token"] == first


def test_the_issued_token_still_authorises_the_users_events(post):
    token = post("/user/create", {"userId": EVOTOR_USER, "email": "new@example.ru"}).json()["token"]
    body = {"id": "e-1", "type": "ApplicationUninstalled", "data": {"userId": EVOTOR_USER}}
    assert post("/installation/event", body, authorization=f"Bearer {token}").status_code == 200
    assert EvotorConnection.objects.get().state == ConnectionState.DISABLED


def test_the_migration_encrypts_plain_tokens_and_leaves_encrypted_ones(owner, other_merchant):
    plain = EvotorConnection.objects.create(user=owner, evotor_user_id="01-1")
    done = EvotorConnection.objects.create(user=other_merchant, evotor_user_id="01-2")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE connections_evotorconnection SET api_token = %s WHERE id = %s",
            ["plain-token-from-before", plain.pk],
        )
    already = stored(done.pk)
    migration = importlib.import_module("connections.migrations.0004_evotor_api_token_encrypted")

    class Editor:
        pass

    Editor.connection = connection
    migration.encrypt_tokens(django_apps, Editor())
    assert "plain-token-from-before" not in stored(plain.pk)
    assert EvotorConnection.objects.get(pk=plain.pk).api_token == "plain-token-from-before"
    assert stored(done.pk) == already
