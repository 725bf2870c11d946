"""/user/create, /user/verify, /user/token exactly as Evotor calls them (docs/contracts/evotor-api.md §7.1-§7.3)."""

from __future__ import annotations

import base64
import hmac
import logging

import pytest

from accounts.models import Status, User
from connections import evotor_services
from connections.models import ConnectionState, EvotorConnection
from tests.conftest import PASSWORD
from tests.webhooks.conftest import EVOTOR_USER, SECRET, error_codes
from webhooks.openapi import schema_validator

pytestmark = pytest.mark.django_db

CLOUD_TOKEN = "f46b89a5-8e80-4591-b0aa-94551790444b"


def valid(schema: str, body) -> bool:
    schema_validator(schema).validate(body)
    return True


# --- who may call --------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/user/create", "/user/verify", "/user/token"])
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer wrong-secret",
        f"Bearer {SECRET}x",
        f"Basic {SECRET}",
        "Bearer ключ",
    ],
)
def test_calls_without_the_app_secret_get_1001(post, path, authorization):
    response = post(
        path, {"userId": EVOTOR_USER, "email": "shop@example.ru"}, authorization=authorization
    )
    assert response.status_code == 401
    assert error_codes(response) == [1001]
    assert valid("Errors", response.json())
    assert not User.objects.filter(email="shop@example.ru").exists()


def test_with_no_secret_configured_everything_is_refused(settings, post):
    settings.EVOTOR_WEBHOOK_SECRET = ""
    response = post(
        "/user/create", {"userId": EVOTOR_USER, "email": "a@example.ru"}, authorization="Bearer "
    )
    assert response.status_code == 401 and error_codes(response) == [1001]


def test_the_secret_is_compared_in_constant_time(post, monkeypatch):
    calls = []
    original = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    post("/user/token", {"userId": EVOTOR_USER, "token": CLOUD_TOKEN}, authorization="Bearer guess")
    assert (b"guess", SECRET.encode()) in calls


def test_a_bare_secret_without_the_bearer_word_is_accepted(post):
    response = post(
        "/user/create", {"userId": EVOTOR_USER, "email": "a@example.ru"}, authorization=SECRET
    )
    assert response.status_code == 200


def test_basic_auth_works_when_configured(settings, post):
    settings.EVOTOR_WEBHOOK_BASIC_AUTH = "evotor:portal-password"
    good = base64.b64encode(b"evotor:portal-password").decode()
    bad = base64.b64encode(b"evotor:guess").decode()
    body = {"userId": EVOTOR_USER, "email": "a@example.ru"}
    assert post("/user/create", body, authorization=f"Basic {bad}").status_code == 401
    assert post("/user/create", body, authorization="Basic !!!").status_code == 401
    assert post("/user/create", body, authorization=f"Basic {good}").status_code == 200


def test_basic_auth_is_refused_when_not_configured(post):
    good = base64.b64encode(b"evotor:portal-password").decode()
    response = post(
        "/user/create",
        {"userId": EVOTOR_USER, "email": "a@example.ru"},
        authorization=f"Basic {good}",
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "path", ["/user/create", "/user/verify", "/user/token", "/installation/event"]
)
def test_only_post_is_allowed(client, path):
    response = client.get(path)
    assert response.status_code == 405
    assert valid("Errors", response.json())


# --- /user/create ---------------------------------------------------------------------------------
def test_create_makes_a_pending_account_linked_to_evotor(post):
    response = post(
        "/user/create",
        {"userId": EVOTOR_USER, "email": "Shop@Example.ru", "password": PASSWORD, "name": "Лавка"},
    )
    assert response.status_code == 200
    body = response.json()
    assert valid("UserCreateResponse", body)
    user = User.objects.get(email="shop@example.ru")
    connection = EvotorConnection.objects.get(user=user)
    assert body == {"userId": EVOTOR_USER, "token": connection.api_token}
    # Pending until the address owner confirms (issue 13 item 9, test_user_create_confirmation).
    assert (user.status, user.evotor_user_id, user.full_name) == (
        Status.PENDING,
        EVOTOR_USER,
        "Лавка",
    )
    assert connection.evotor_user_id == EVOTOR_USER
    assert user.check_password(PASSWORD)


def test_create_without_a_password_leaves_an_unusable_one(post):
    post("/user/create", {"userId": EVOTOR_USER, "email": "shop@example.ru"})
    assert not User.objects.get(email="shop@example.ru").has_usable_password()


def test_create_accepts_the_old_field_name_and_username(post):
    response = post("/user/create", {"userUuid": EVOTOR_USER, "username": "shop@example.ru"})
    assert response.status_code == 200
    assert User.objects.get(email="shop@example.ru").evotor_user_id == EVOTOR_USER


def test_a_replayed_create_answers_the_same_token(post):
    first = post("/user/create", {"userId": EVOTOR_USER, "email": "shop@example.ru"}).json()
    again = post("/user/create", {"userId": EVOTOR_USER, "email": "SHOP@example.ru"})
    without_email = post("/user/create", {"userId": EVOTOR_USER})
    assert again.status_code == without_email.status_code == 200
    assert again.json() == without_email.json() == first
    assert User.objects.count() == 1


def test_create_for_a_linked_user_with_another_email_is_2005(post):
    post("/user/create", {"userId": EVOTOR_USER, "email": "shop@example.ru"})
    response = post("/user/create", {"userId": EVOTOR_USER, "email": "other@example.ru"})
    assert response.status_code == 409 and error_codes(response) == [2005]
    assert not User.objects.filter(email="other@example.ru").exists()


def test_create_with_the_email_of_an_existing_account_is_2005(post, owner):
    response = post("/user/create", {"userId": EVOTOR_USER, "email": owner.email.upper()})
    assert response.status_code == 409
    assert response.json() == {
        "errors": [{"code": 2005, "reason": "already registered", "subject": "email"}]
    }
    owner.refresh_from_db()
    assert owner.evotor_user_id is None


@pytest.mark.parametrize(
    ("body", "code", "subject"),
    [
        ({"email": "shop@example.ru"}, 2002, "userId"),
        ({"userId": "", "email": "shop@example.ru"}, 2002, "userId"),
        ({"userId": None, "email": "shop@example.ru"}, 2002, "userId"),
        ({"userId": "01 000", "email": "shop@example.ru"}, 2003, "userId"),
        ({"userId": ["01-000000000000123"], "email": "shop@example.ru"}, 2003, "userId"),
        ({"userId": "0" * 33, "email": "shop@example.ru"}, 2003, "userId"),
        ({"userId": EVOTOR_USER}, 2002, "email"),
        ({"userId": EVOTOR_USER, "email": "не почта"}, 2003, "email"),
        ({"userId": EVOTOR_USER, "email": "shop@example.ru", "password": "123"}, 2003, "password"),
        (
            {"userId": EVOTOR_USER, "email": "shop@example.ru", "password": 12345678},
            2003,
            "password",
        ),
    ],
)
def test_create_with_bad_input_says_which_field_and_creates_nothing(post, body, code, subject):
    response = post("/user/create", body)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["code"], error["subject"]) == (code, subject)
    assert valid("Errors", response.json())
    assert User.objects.count() == 0


def test_passwords_are_never_echoed_in_errors(post):
    response = post(
        "/user/create", {"userId": EVOTOR_USER, "email": "a@example.ru", "password": "123"}
    )
    assert "123" not in response.content.decode()


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"text"', b"{", b"\xff\xfe\x00"])
def test_a_body_that_is_not_a_json_object_is_2001(post, raw):
    response = post("/user/create", raw=raw)
    assert response.status_code == 400 and error_codes(response) == [2001]


# --- /user/verify ---------------------------------------------------------------------------------
def test_verify_links_an_existing_account(post, owner):
    response = post(
        "/user/verify", {"userId": EVOTOR_USER, "username": owner.email, "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert valid("UserVerifyResponse", body)
    connection = EvotorConnection.objects.get(user=owner)
    assert body == {"userId": EVOTOR_USER, "hasBilling": False, "token": connection.api_token}
    owner.refresh_from_db()
    assert owner.evotor_user_id == connection.evotor_user_id == EVOTOR_USER


def test_verify_accepts_login_instead_of_username_and_is_idempotent(post, owner):
    body = {"userId": EVOTOR_USER, "login": owner.email.upper(), "password": PASSWORD}
    first, again = post("/user/verify", body), post("/user/verify", body)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert EvotorConnection.objects.filter(user=owner).count() == 1


def test_verify_keeps_an_existing_cloud_token(post, owner):
    EvotorConnection.objects.create(user=owner, cloud_token=CLOUD_TOKEN)
    post("/user/verify", {"userId": EVOTOR_USER, "username": owner.email, "password": PASSWORD})
    assert EvotorConnection.objects.get(user=owner).cloud_token == CLOUD_TOKEN


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "owner@example.ru", "password": "wrong password"},
        {"username": "nobody@example.ru", "password": PASSWORD},
    ],
)
def test_verify_with_wrong_credentials_is_1006(post, owner, credentials):
    response = post("/user/verify", {"userId": EVOTOR_USER, **credentials})
    assert response.status_code == 401 and error_codes(response) == [1006]
    assert not EvotorConnection.objects.filter(evotor_user_id=EVOTOR_USER).exists()


def test_a_suspended_account_cannot_be_linked(post, owner):
    owner.status = Status.SUSPENDED
    owner.save()
    response = post(
        "/user/verify", {"userId": EVOTOR_USER, "username": owner.email, "password": PASSWORD}
    )
    assert response.status_code == 401 and error_codes(response) == [1006]


def test_verify_of_an_account_linked_to_another_evotor_user_is_2004(post, owner, linked_owner):
    response = post(
        "/user/verify",
        {"userId": "01-000000000000999", "username": owner.email, "password": PASSWORD},
    )
    assert response.status_code == 409 and error_codes(response) == [2004]
    linked_owner.refresh_from_db()
    assert linked_owner.evotor_user_id == EVOTOR_USER


def test_verify_of_an_evotor_user_linked_to_another_account_is_2004(
    post, other_merchant, linked_owner
):
    response = post(
        "/user/verify",
        {"userId": EVOTOR_USER, "username": other_merchant.email, "password": PASSWORD},
    )
    assert response.status_code == 409 and error_codes(response) == [2004]
    assert not EvotorConnection.objects.filter(user=other_merchant).exists()


@pytest.mark.parametrize(
    ("body", "subject"),
    [
        ({"userId": EVOTOR_USER, "password": PASSWORD}, "username"),
        ({"userId": EVOTOR_USER, "username": "owner@example.ru"}, "password"),
        ({"username": "owner@example.ru", "password": PASSWORD}, "userId"),
    ],
)
def test_verify_with_a_missing_field_is_2002(post, owner, body, subject):
    response = post("/user/verify", body)
    assert response.status_code == 400
    assert response.json()["errors"][0] == {"code": 2002, "reason": "missing", "subject": subject}


# --- /user/token ------------------------------------------------------------------------------------
def test_token_is_stored_encrypted_and_starts_a_refresh_after_commit(
    post, linked_owner, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    enqueued = []
    monkeypatch.setattr(
        evotor_services, "enqueue_task", lambda *args, **kw: enqueued.append((args, kw))
    )
    with (
        caplog.at_level(logging.DEBUG),
        django_capture_on_commit_callbacks(execute=False) as callbacks,
    ):
        response = post("/user/token", {"userId": EVOTOR_USER, "token": CLOUD_TOKEN})
    assert response.status_code == 200 and response.json() == {}
    linked_owner.refresh_from_db()
    assert linked_owner.cloud_token == CLOUD_TOKEN
    assert CLOUD_TOKEN not in caplog.text
    assert enqueued == []  # nothing runs before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    assert enqueued == [
        (
            ("catalog.tasks.refresh_catalog_for_user", linked_owner.user_id),
            {"user_id": linked_owner.user_id},
        )
    ]


def test_a_replayed_token_changes_nothing_and_refreshes_nothing(
    post, linked_owner, django_capture_on_commit_callbacks
):
    post("/user/token", {"userId": EVOTOR_USER, "token": CLOUD_TOKEN})
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post("/user/token", {"userId": EVOTOR_USER, "token": CLOUD_TOKEN})
    assert response.status_code == 200
    assert callbacks == []


def test_a_new_token_mends_a_broken_connection(post, linked_owner):
    linked_owner.cloud_token = "0" * 36
    linked_owner.state = ConnectionState.BROKEN
    linked_owner.last_error = "Эвотор не принимает токен"
    linked_owner.save()
    post("/user/token", {"userId": EVOTOR_USER, "token": CLOUD_TOKEN})
    linked_owner.refresh_from_db()
    assert (linked_owner.cloud_token, linked_owner.state, linked_owner.last_error) == (
        CLOUD_TOKEN,
        ConnectionState.OK,
        "",
    )


def test_token_for_an_unknown_evotor_user_is_404_with_an_empty_body(post):
    response = post("/user/token", {"userId": "01-000000000000777", "token": CLOUD_TOKEN})
    assert response.status_code == 404 and response.json() == {}
    assert valid("Empty", response.json())


@pytest.mark.parametrize("token", ["short", "has spaces in it, many of them", 1234567890123456789])
def test_an_implausible_token_is_2003_and_never_echoed(post, linked_owner, token):
    response = post("/user/token", {"userId": EVOTOR_USER, "token": token})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 2003
    assert str(token) not in response.content.decode()
    linked_owner.refresh_from_db()
    assert linked_owner.cloud_token == ""


def test_token_can_find_an_account_linked_only_through_the_user(post, owner):
    owner.evotor_user_id = EVOTOR_USER
    owner.save(update_fields=["evotor_user_id"])
    assert post("/user/token", {"userId": EVOTOR_USER, "token": CLOUD_TOKEN}).status_code == 200
    assert EvotorConnection.objects.get(user=owner).cloud_token == CLOUD_TOKEN


def test_the_full_evotor_journey_create_then_token(post):
    created = post("/user/create", {"userId": EVOTOR_USER, "email": "new@example.ru"}).json()
    assert post("/user/token", {"userId": EVOTOR_USER, "token": CLOUD_TOKEN}).status_code == 200
    # The issued token is encrypted at rest (not queryable): find the row by Evotor's user id.
    connection = EvotorConnection.objects.get(evotor_user_id=EVOTOR_USER)
    assert connection.api_token == created["token"]
    assert connection.cloud_token == CLOUD_TOKEN and connection.is_usable


def test_secrets_in_any_field_of_a_body_are_masked_in_the_log(post, caplog):
    body = {
        "userId": EVOTOR_USER,
        "email": "masked@example.ru",
        "password": "plain-password-1",
        "data": {"cloudToken": "nested-token-2", "X-Authorization": "nested-auth-3"},
        "apiToken": "camel-token-4",
    }
    with caplog.at_level(logging.INFO, logger="webhooks.views"):
        post("/user/create", body)
    logged = " ".join(str(getattr(r, "body", "")) for r in caplog.records)
    assert "masked@example.ru" in logged  # the body is logged…
    for secret in ("plain-password-1", "nested-token-2", "nested-auth-3", "camel-token-4"):
        assert secret not in logged  # …without its secrets
