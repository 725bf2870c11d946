"""The merchant's Evotor connection pages: state, save, test, disconnect."""

from __future__ import annotations

import logging

import pytest
from django.db import connection as db
from django.test import Client
from django.urls import reverse

from connections.models import ConnectionState, EvotorConnection
from sandbox.evotor.demo import DEMO_TOKEN, DEMO_USER_ID

pytestmark = pytest.mark.django_db

PAGE = reverse("connections:evotor")
SAVE = reverse("connections:evotor_save")
TEST = reverse("connections:evotor_test")
DISCONNECT = reverse("connections:evotor_disconnect")
NEW_TOKEN = "5f6b1c2e-7a8d-4e9f-b0a1-c2d3e4f5a6b7"
JSON = {"HTTP_ACCEPT": "application/json"}


def stored_token_column(connection: EvotorConnection) -> str:
    with db.cursor() as cursor:
        cursor.execute(
            f"SELECT cloud_token FROM {EvotorConnection._meta.db_table} WHERE id = %s",
            [connection.pk],
        )
        return cursor.fetchone()[0]


# --- who may see what ------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [PAGE, DISCONNECT])
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


@pytest.mark.parametrize("url", [SAVE, TEST, DISCONNECT])
def test_anonymous_posts_change_nothing(client, owner_connection, url):
    response = client.post(url, {"token": NEW_TOKEN})
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]
    owner_connection.refresh_from_db()
    assert owner_connection.cloud_token == DEMO_TOKEN


def test_a_merchant_without_a_connection_sees_how_to_connect(owner_client):
    response = owner_client.get(PAGE)
    assert response.status_code == 200
    assert "Не подключено" in response.content.decode()


def test_the_owner_sees_the_state_with_the_token_masked(owner_client, owner_connection):
    page = owner_client.get(PAGE).content.decode()
    assert "Работает" in page
    assert owner_connection.masked_token in page
    assert DEMO_TOKEN not in page
    assert DEMO_USER_ID in page
    assert owner_connection.api_token not in page
    assert owner_connection.api_token[:4] in page


def test_a_broken_connection_shows_the_reason(owner_client, owner_connection):
    owner_connection.state = ConnectionState.BROKEN
    owner_connection.last_error = "Эвотор не принимает токен"
    owner_connection.save()
    page = owner_client.get(PAGE).content.decode()
    assert "Не работает" in page and "Эвотор не принимает токен" in page


def test_another_merchant_never_sees_the_owners_connection(other_client, owner_connection):
    page = other_client.get(PAGE).content.decode()
    assert owner_connection.masked_token not in page
    assert DEMO_USER_ID not in page
    assert "Не подключено" in page


@pytest.fixture
def new_token(evotor_sandbox) -> str:
    """A second token the Evotor sandbox accepts."""
    evotor_sandbox.add_token(NEW_TOKEN)
    return NEW_TOKEN


def test_another_merchants_posts_act_only_on_their_own_connection(
    other_client, other_merchant, owner_connection, new_token
):
    other_client.post(SAVE, {"token": NEW_TOKEN})
    other_client.post(DISCONNECT)
    owner_connection.refresh_from_db()
    assert owner_connection.cloud_token == DEMO_TOKEN
    assert EvotorConnection.objects.get(user=other_merchant).cloud_token == ""


def test_posts_need_the_csrf_token(owner, owner_connection):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(SAVE, {"token": NEW_TOKEN}).status_code == 403
    owner_connection.refresh_from_db()
    assert owner_connection.cloud_token == DEMO_TOKEN


# --- saving a token ------------------------------------------------------------------------------
def test_saving_a_token_checks_it_and_stores_it_encrypted(owner_client, owner, new_token, caplog):
    with caplog.at_level(logging.DEBUG):
        response = owner_client.post(SAVE, {"token": f"  {NEW_TOKEN}  "}, follow=True)
    assert response.redirect_chain == [(PAGE, 302)]
    connection = EvotorConnection.objects.get(user=owner)
    assert connection.cloud_token == NEW_TOKEN
    assert connection.state == ConnectionState.OK and connection.last_checked_at
    assert NEW_TOKEN not in stored_token_column(connection)
    assert NEW_TOKEN not in caplog.text
    (message,) = [str(m) for m in response.context["messages"]]
    assert message == "Токен Эвотора сохранён и работает: магазинов — 3."
    assert "Работает" in response.content.decode()


def test_a_mistyped_token_is_refused_as_mistyped_and_the_old_one_kept(
    owner_client, owner_connection
):
    response = owner_client.post(SAVE, {"token": NEW_TOKEN})
    assert response.status_code == 400
    page = response.content.decode()
    assert page.count("Эвотор не принимает этот токен: в нём опечатка") == 1
    assert "отозвали" not in page
    owner_connection.refresh_from_db()
    assert owner_connection.cloud_token == DEMO_TOKEN
    assert owner_connection.state == ConnectionState.OK


def test_an_unreachable_evotor_saves_the_token_unchecked_and_says_so_once(
    owner_client, owner, new_token, evotor_sandbox, settings
):
    settings.HTTP_MAX_RETRIES = 0
    evotor_sandbox.fail("500")
    response = owner_client.post(SAVE, {"token": NEW_TOKEN}, follow=True)
    (message,) = response.context["messages"]
    assert message.level_tag == "warning" and "ещё не проверен" in str(message)
    connection = EvotorConnection.objects.get(user=owner)
    assert connection.cloud_token == NEW_TOKEN and connection.last_checked_at is None
    page = response.content.decode()
    assert "Не проверено" in page and "badge-ok" not in page


def test_saving_a_token_starts_a_catalog_refresh_after_commit(
    owner_client, new_token, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        owner_client.post(SAVE, {"token": NEW_TOKEN})
    assert len(callbacks) == 1


def test_saving_resets_a_broken_connection(owner_client, owner_connection, new_token):
    owner_connection.state = ConnectionState.BROKEN
    owner_connection.last_error = "Эвотор не принимает токен"
    owner_connection.save()
    owner_client.post(SAVE, {"token": NEW_TOKEN})
    owner_connection.refresh_from_db()
    assert (owner_connection.state, owner_connection.last_error) == (ConnectionState.OK, "")


@pytest.mark.parametrize(
    ("token", "error"),
    [
        ("", "Вставьте токен Эвотора"),
        ("   ", "Вставьте токен Эвотора"),
        ("short", "от 16 до 512 символов"),
        ("токен-на-русском-языке-123", "только латинские буквы"),
        ("5f6b1c2e 7a8d 4e9f b0a1 c2d3e4f5a6b7", "только латинские буквы"),
        ("x" * 600, "от 16 до 512 символов"),
    ],
)
def test_a_bad_token_shows_the_error_and_keeps_the_old_one(
    owner_client, owner_connection, token, error
):
    response = owner_client.post(SAVE, {"token": token})
    assert response.status_code == 400
    assert error in response.content.decode()
    owner_connection.refresh_from_db()
    assert owner_connection.cloud_token == DEMO_TOKEN


def test_the_save_form_never_echoes_a_token(owner_client):
    response = owner_client.post(SAVE, {"token": "tok-secret"})
    assert response.status_code == 400
    assert "tok-secret" not in response.content.decode()


# --- testing the connection ----------------------------------------------------------------------
def test_the_test_button_answers_json_when_the_token_works(owner_client, owner_connection):
    body = owner_client.post(TEST, **JSON).json()
    assert body["ok"] is True
    assert body["message"] == "Подключение работает: магазинов — 3"
    assert body["stores"] == 3
    assert 'id="evotor-status"' in body["html"]
    owner_connection.refresh_from_db()
    assert owner_connection.last_checked_at is not None


def test_htmx_gets_the_state_block_and_the_result_line(owner_client, owner_connection):
    response = owner_client.post(TEST, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="evotor-status">')
    assert 'id="evotor-test-result" class="result badge badge-ok"' in html
    assert 'hx-swap-oob="true"' in html
    assert "Подключение работает: магазинов — 3" in html


def test_htmx_shows_a_rejected_token_in_red(owner_client, owner_connection, evotor_sandbox):
    evotor_sandbox.fail("401")
    html = owner_client.post(TEST, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="evotor-test-result" class="result badge badge-err"' in html
    # The token worked before, so it was revoked: said once, in the state block.
    owner_connection.refresh_from_db()
    assert "Эвотор больше не принимает токен" in owner_connection.last_error
    assert "Не работает" in html and html.count(owner_connection.last_error) == 1


def test_a_rejected_token_marks_the_connection_broken(
    owner_client, owner_connection, evotor_sandbox
):
    evotor_sandbox.fail("401")
    body = owner_client.post(TEST, **JSON).json()
    assert body["ok"] is False
    owner_connection.refresh_from_db()
    assert owner_connection.state == ConnectionState.BROKEN
    # It worked before: revoked, not mistyped; said once, in the state block.
    assert "Эвотор больше не принимает токен" in owner_connection.last_error
    assert body["error"] == "" and "Не работает" in body["html"]
    assert body["html"].count(owner_connection.last_error) == 1


def test_a_token_that_never_worked_is_called_mistyped_by_the_test_button(
    owner_client, owner_connection, evotor_sandbox
):
    EvotorConnection.objects.filter(pk=owner_connection.pk).update(
        token_verified_at=None, last_checked_at=None
    )
    evotor_sandbox.fail("401")
    owner_client.post(TEST, **JSON)
    owner_connection.refresh_from_db()
    assert "в нём опечатка" in owner_connection.last_error


def test_a_connection_never_checked_is_not_shown_as_working(owner_client, owner_connection):
    EvotorConnection.objects.filter(pk=owner_connection.pk).update(last_checked_at=None)
    page = owner_client.get(PAGE).content.decode()
    assert "Не проверено" in page and "Работает" not in page


def test_an_evotor_outage_is_reported_but_does_not_break_the_connection(
    settings, owner_client, owner_connection, evotor_sandbox
):
    settings.HTTP_MAX_RETRIES = 1
    evotor_sandbox.fail("500")
    body = owner_client.post(TEST, **JSON).json()
    assert body == {"ok": False, "error": body["error"], "html": body["html"]}
    assert "Эвотор сейчас не отвечает" in body["error"]
    owner_connection.refresh_from_db()
    assert owner_connection.state == ConnectionState.OK


def test_a_working_test_heals_a_broken_connection(owner_client, owner_connection):
    owner_connection.state = ConnectionState.BROKEN
    owner_connection.last_error = "Эвотор не принимает токен"
    owner_connection.save()
    assert owner_client.post(TEST, **JSON).json()["ok"] is True
    owner_connection.refresh_from_db()
    assert (owner_connection.state, owner_connection.last_error) == (ConnectionState.OK, "")


def test_the_test_button_works_without_javascript(owner_client, owner_connection):
    response = owner_client.post(TEST, follow=True)
    assert response.redirect_chain == [(PAGE, 302)]
    assert "Подключение работает: магазинов — 3" in response.content.decode()


def test_testing_without_a_token_asks_for_one(owner_client, evotor_sandbox):
    body = owner_client.post(TEST, **JSON).json()
    assert body["ok"] is False and "Сначала сохраните токен" in body["error"]


def test_the_test_button_is_post_only(owner_client, owner_connection):
    assert owner_client.get(TEST).status_code == 405


# --- disconnecting ---------------------------------------------------------------------------------
def test_disconnect_asks_for_confirmation_first(owner_client, owner_connection):
    page = owner_client.get(DISCONNECT)
    assert page.status_code == 200
    assert "Отключить Эвотор?" in page.content.decode()
    owner_connection.refresh_from_db()
    assert owner_connection.cloud_token == DEMO_TOKEN


def test_disconnect_forgets_the_token_and_the_cached_catalog(owner_client, owner, owner_connection):
    from catalog.models import CachedGroup, CachedProduct, CachedStore, SyncFilter
    from tests.catalog.conftest import make_catalog

    catalog = make_catalog(owner, products=3)
    SyncFilter.objects.create(
        user=owner, entity_type="store", entity_id=catalog.store.evotor_id, enabled=True
    )
    response = owner_client.post(DISCONNECT, follow=True)
    assert "Эвотор отключён" in response.content.decode()
    owner_connection.refresh_from_db()
    assert owner_connection.cloud_token == ""
    # The link to the Evotor account stays, so Evotor can deliver a new token later.
    assert owner_connection.evotor_user_id == DEMO_USER_ID
    for model in (CachedStore, CachedGroup, CachedProduct):
        assert not model.objects.filter(user=owner).exists(), model.__name__
    # The merchant's store switches outlive the cache: a reconnect finds them again.
    assert SyncFilter.objects.filter(user=owner).count() == 1


def test_disconnecting_when_not_connected_just_says_so(owner_client):
    response = owner_client.get(DISCONNECT, follow=True)
    assert response.redirect_chain == [(PAGE, 302)]
    assert "Эвотор не подключён" in response.content.decode()
