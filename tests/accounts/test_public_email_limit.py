"""The forms anybody can fill in ("send the link again", "forgot password") e-mail one address at
most once a minute each: nobody can flood someone's inbox through them."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from accounts.models import Status
from accounts.services import public_email_allowed
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

RESEND = reverse("accounts:resend_confirmation")
FORGOT = reverse("accounts:password_reset")


@pytest.fixture(autouse=True)
def limit(settings):
    settings.ACCOUNTS_PUBLIC_EMAIL_INTERVAL_SECONDS = 60


def fresh_email() -> str:
    # The cache outlives one test: each test uses addresses of its own.
    return f"limit-{uuid.uuid4().hex[:10]}@example.ru"


def test_forgot_password_twice_in_a_row_sends_one_message(client, mailoutbox):
    user = make_user(fresh_email())
    for _ in range(3):
        response = client.post(FORGOT, {"email": user.email})
        # The page answers the same every time: it never tells what happened.
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:password_reset_done")
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [user.email]


def test_send_the_link_again_twice_in_a_row_sends_one_message(client, mailoutbox):
    user = make_user(fresh_email(), status=Status.PENDING)
    first = client.post(RESEND, {"email": user.email}, follow=True)
    second = client.post(RESEND, {"email": user.email.upper()}, follow=True)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [user.email]
    # The same answer both times: the page never tells whether a message went out.
    said = [[str(m) for m in response.context["messages"]] for response in (first, second)]
    assert said[0] == said[1] and said[0]


def test_the_limit_is_per_address_and_per_form(client, mailoutbox):
    one, two = make_user(fresh_email()), make_user(fresh_email(), status=Status.PENDING)
    client.post(FORGOT, {"email": one.email})
    client.post(FORGOT, {"email": two.email})  # pending: no reset mail, and nothing used up
    client.post(RESEND, {"email": two.email})
    assert sorted(m.to[0] for m in mailoutbox) == sorted([one.email, two.email])


def test_the_limit_counts_per_address_and_0_turns_it_off(settings):
    email = fresh_email()
    assert public_email_allowed(kind="test", email=email)
    assert not public_email_allowed(kind="test", email=email)
    assert not public_email_allowed(kind="test", email=f"  {email.upper()} ")
    assert public_email_allowed(kind="test", email=fresh_email())
    settings.ACCOUNTS_PUBLIC_EMAIL_INTERVAL_SECONDS = 0
    assert public_email_allowed(kind="test", email=email)  # 0 turns the limit off


def test_staff_sending_a_reset_link_is_not_limited(mailoutbox):
    from accounts.services import user_send_password_reset

    user = make_user(fresh_email())
    assert public_email_allowed(kind="password_reset", email=user.email)
    assert user_send_password_reset(user=user)
    assert len(mailoutbox) == 1
