"""/user/create leaves the account pending until the address owner answers the e-mail
(issue 13, item 9); Evotor's side of the flow is unchanged."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Status, User
from connections.models import EvotorConnection
from tests.accounts.conftest import link_in
from tests.webhooks.conftest import EVOTOR_USER

pytestmark = pytest.mark.django_db

PASSWORD = "Tea-Kettle-42-Lamp"
EMAIL = "merchant@example.ru"
CLOUD_TOKEN = "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"


@pytest.fixture
def create(post, django_capture_on_commit_callbacks):
    def send(**fields):
        with django_capture_on_commit_callbacks(execute=True):
            return post("/user/create", {"userId": EVOTOR_USER, "email": EMAIL, **fields})

    return send


def test_an_account_created_from_evotor_cannot_sign_in_before_confirming(create, client):
    assert create(password=PASSWORD).status_code == 200
    assert User.objects.get(email=EMAIL).status == Status.PENDING
    client.post(reverse("accounts:login"), {"username": EMAIL, "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_the_address_owner_gets_a_confirmation_link_that_activates_it(create, client):
    create(password=PASSWORD)
    (message,) = mail.outbox
    assert message.to == [EMAIL]
    client.get(link_in(message, contains="/accounts/confirm/"), follow=True)
    assert User.objects.get(email=EMAIL).status == Status.ACTIVE
    response = client.post(reverse("accounts:login"), {"username": EMAIL, "password": PASSWORD})
    assert response.status_code == 302


def test_without_a_password_the_owner_is_invited_to_choose_one(create):
    create()
    (message,) = mail.outbox
    link_in(message, contains="/accounts/invite/")
    assert User.objects.get(email=EMAIL).status == Status.PENDING


def test_a_replayed_create_sends_no_second_mail(create):
    first = create(password=PASSWORD).json()
    assert create(password=PASSWORD).json() == first
    assert len(mail.outbox) == 1


def test_evotor_still_delivers_the_cloud_token_to_the_pending_account(create, post):
    create(password=PASSWORD)
    assert post("/user/token", {"userId": EVOTOR_USER, "token": CLOUD_TOKEN}).status_code == 200
    assert EvotorConnection.objects.get(evotor_user_id=EVOTOR_USER).cloud_token == CLOUD_TOKEN
