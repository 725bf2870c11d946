"""Lockouts count one address however it is typed, and read the client past trusted proxies
(issue 13, item 2)."""

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
SPELLINGS = ["Owner@example.ru", "oWNER@EXAMPLE.RU", " owner@Example.Ru ", "OWNER@example.ru"]


def test_spellings_of_one_address_share_the_failure_count(client, owner, settings):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        spelling = SPELLINGS[attempt % len(SPELLINGS)]
        client.post(LOGIN, {"username": spelling, "password": "wrong-pass"})
    locked = client.post(LOGIN, {"username": "owner@example.ru", "password": "wrong-pass"})
    assert locked.status_code == 429


def test_a_new_spelling_with_the_right_password_does_not_lift_the_lock(
    client, owner, password, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": "owner@example.ru", "password": "wrong-pass"})
    response = client.post(LOGIN, {"username": "OwNeR@example.RU", "password": password})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def fail_from(forwarded_for: str, times: int):
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded_for)
    for _ in range(times):
        response = client.post(LOGIN, {"username": "owner@example.ru", "password": "nope-nope"})
    return response


def test_behind_a_trusted_proxy_each_client_has_its_own_count(owner, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert fail_from("198.51.100.7", settings.AXES_FAILURE_LIMIT).status_code == 429
    # Another client behind the same proxy is not locked out by the first one's failures.
    assert fail_from("203.0.113.9", 1).status_code == 200


def test_a_client_cannot_choose_its_address_by_prefixing_x_forwarded_for(owner, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    fail_from("1.1.1.1, 198.51.100.7", settings.AXES_FAILURE_LIMIT)
    assert fail_from("2.2.2.2, 198.51.100.7", 1).status_code == 429


def test_without_a_trusted_proxy_the_forwarded_header_is_ignored(owner, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    fail_from("198.51.100.7", settings.AXES_FAILURE_LIMIT)
    assert fail_from("203.0.113.9", 1).status_code == 429
