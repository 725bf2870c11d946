"""Sign-up, e-mail confirmation and resending the confirmation link."""

import smtplib

import pytest
from django.core import signing
from django.urls import reverse

from accounts import tokens
from accounts.models import Status, User
from tests.accounts.conftest import link_in

pytestmark = pytest.mark.django_db

REGISTER = reverse("accounts:register")
GOOD = {
    "email": "New.Shop@Example.ru",
    "full_name": "Наталья Новая",
    "password1": "Strong-Enough-Pass-42",
    "password2": "Strong-Enough-Pass-42",
}


def test_register_page_shows_every_field_with_a_label(client):
    response = client.get(REGISTER)
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("email", "full_name", "password1", "password2"):
        assert f'<label for="id_{name}">' in html
    assert "Регистрация" in html or "Создать" in html


def test_register_creates_a_pending_user_and_sends_the_confirmation(client, outbox):
    response = client.post(REGISTER, GOOD)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:register_done")
    user = User.objects.get(email="new.shop@example.ru")
    assert user.status == Status.PENDING and not user.is_active
    assert user.full_name == "Наталья Новая"
    assert user.check_password(GOOD["password1"])
    assert list(user.groups.values_list("name", flat=True)) == ["user"]
    assert len(outbox) == 1
    message = outbox[0]
    assert message.to == ["new.shop@example.ru"]
    assert "Подтвердите" in message.subject
    link = link_in(message, contains="/accounts/confirm/")
    html_body, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and link in html_body

    done = client.get(response["Location"])
    assert "new.shop@example.ru" in done.content.decode()


def test_register_refuses_a_taken_address_whatever_its_case(client, owner, outbox):
    response = client.post(REGISTER, {**GOOD, "email": "OWNER@example.ru"})
    assert response.status_code == 200
    assert "уже существует" in response.content.decode()
    assert User.objects.filter(email__iexact="owner@example.ru").count() == 1
    assert outbox == []


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("12345678", "numeric"),
        ("short1!", "too short"),
        ("password123", "common"),
        ("newshop2024", "like the e-mail"),
    ],
)
def test_register_refuses_a_weak_password(client, outbox, password, why):
    response = client.post(
        REGISTER,
        {**GOOD, "email": "newshop@example.ru", "password1": password, "password2": password},
    )
    assert response.status_code == 200, why
    assert response.context["form"].errors["password1"]
    assert not User.objects.filter(email="newshop@example.ru").exists()
    assert outbox == []


def test_register_refuses_two_different_passwords(client):
    response = client.post(REGISTER, {**GOOD, "password2": "Something-Else-42"})
    assert response.context["form"].errors["password2"]
    assert not User.objects.exists()


def test_register_with_empty_fields_shows_errors_not_a_blank_form(client):
    response = client.post(REGISTER, {})
    assert response.status_code == 200
    assert set(response.context["form"].errors) >= {"email", "full_name", "password1"}


def test_a_logged_in_user_is_sent_from_register_to_the_dashboard(owner_client):
    assert owner_client.get(REGISTER)["Location"] == reverse("sync:dashboard")


def test_register_still_creates_the_account_when_the_mail_server_fails(client, monkeypatch):
    def refuse(self, messages):
        raise smtplib.SMTPServerDisconnected("down")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    response = client.post(REGISTER, GOOD, follow=True)
    assert User.objects.filter(email="new.shop@example.ru", status=Status.PENDING).exists()
    assert "Не удалось отправить" in response.content.decode()


def confirmation_path(client, outbox) -> str:
    client.post(REGISTER, GOOD)
    return link_in(outbox[-1], contains="/accounts/confirm/")


def test_the_confirmation_link_activates_the_account(client, outbox):
    path = confirmation_path(client, outbox)
    response = client.get(path, follow=True)
    assert response.redirect_chain[-1][0] == reverse("accounts:login")
    user = User.objects.get(email="new.shop@example.ru")
    assert user.status == Status.ACTIVE and user.is_active
    assert user.email_confirmed_at is not None
    assert "подтвержд" in response.content.decode()
    login = client.post(
        reverse("accounts:login"), {"username": GOOD["email"], "password": GOOD["password1"]}
    )
    assert login.status_code == 302


def test_a_confirmation_link_opened_twice_says_it_is_already_confirmed(client, outbox):
    path = confirmation_path(client, outbox)
    client.get(path)
    response = client.get(path, follow=True)
    assert response.status_code == 200
    assert "уже подтвержд" in response.content.decode()


def test_an_expired_confirmation_link_offers_a_new_one(client, outbox, clock, settings):
    path = confirmation_path(client, outbox)
    clock.advance(hours=settings.EMAIL_CONFIRM_MAX_AGE_HOURS, minutes=1)
    response = client.get(path)
    assert response.status_code == 400
    html = response.content.decode()
    assert "устарела" in html
    # The resend form is filled in with the address the link was for.
    assert 'value="new.shop@example.ru"' in html
    assert User.objects.get(email="new.shop@example.ru").status == Status.PENDING


def test_a_confirmation_link_just_inside_its_lifetime_still_works(client, outbox, clock, settings):
    path = confirmation_path(client, outbox)
    clock.advance(hours=settings.EMAIL_CONFIRM_MAX_AGE_HOURS, minutes=-1)
    client.get(path)
    assert User.objects.get(email="new.shop@example.ru").status == Status.ACTIVE


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "other_salt"])
def test_a_tampered_confirmation_link_is_refused(client, outbox, pending_user, damage):
    token = tokens.email_confirmation_token_make(pending_user)
    bad = {
        "truncate": token[:-3],
        "flip": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "garbage": "not-a-token",
        "other_salt": signing.TimestampSigner(salt="x").sign_object({"u": pending_user.pk}),
    }[damage]
    response = client.get(reverse("accounts:confirm_email", args=[bad]))
    assert response.status_code == 400
    assert "недействительна" in response.content.decode()
    pending_user.refresh_from_db()
    assert pending_user.status == Status.PENDING


def test_a_confirmation_link_for_an_old_address_is_refused(client, pending_user):
    token = tokens.email_confirmation_token_make(pending_user)
    User.objects.filter(pk=pending_user.pk).update(email="changed@example.ru")
    response = client.get(reverse("accounts:confirm_email", args=[token]))
    assert response.status_code == 400


def test_an_invitation_link_is_not_a_confirmation_link(client, invited_user):
    token = tokens.invite_token_make(invited_user)
    response = client.get(reverse("accounts:confirm_email", args=[token]))
    assert response.status_code == 400


def test_confirming_does_not_lift_a_suspension(client, suspended_user):
    token = tokens.email_confirmation_token_make(suspended_user)
    client.get(reverse("accounts:confirm_email", args=[token]))
    suspended_user.refresh_from_db()
    assert suspended_user.status == Status.SUSPENDED
    assert suspended_user.email_confirmed_at is not None


RESEND = reverse("accounts:resend_confirmation")


def test_resend_page_prefills_the_address(client):
    response = client.get(RESEND + "?email=a%40example.ru")
    assert response.status_code == 200
    assert 'value="a@example.ru"' in response.content.decode()


def test_resend_sends_a_new_link_to_a_pending_account(client, pending_user, outbox):
    response = client.post(RESEND, {"email": "PENDING@example.ru"}, follow=True)
    assert len(outbox) == 1 and outbox[0].to == ["pending@example.ru"]
    path = link_in(outbox[0], contains="/accounts/confirm/")
    client.get(path)
    pending_user.refresh_from_db()
    assert pending_user.status == Status.ACTIVE
    assert response.status_code == 200


def test_resend_answers_the_same_for_unknown_and_active_addresses(client, owner, outbox):
    unknown = client.post(RESEND, {"email": "nobody@example.ru"}, follow=True)
    active = client.post(RESEND, {"email": owner.email}, follow=True)
    assert outbox == []
    messages_unknown = [str(m) for m in unknown.context["messages"]]
    messages_active = [str(m) for m in active.context["messages"]]
    assert messages_unknown == messages_active and messages_unknown


def test_resend_to_an_invited_account_sends_the_invitation_again(client, invited_user, outbox):
    client.post(RESEND, {"email": invited_user.email})
    assert len(outbox) == 1
    link_in(outbox[0], contains="/accounts/invite/")


def test_resend_refuses_a_malformed_address(client, outbox):
    response = client.post(RESEND, {"email": "not an address"})
    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert outbox == []
