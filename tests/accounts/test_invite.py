"""Accepting an invitation: set a password (and name), become active, logged in."""

import pytest
from django.urls import reverse

from accounts import services, tokens
from accounts.models import Role, Status, User
from tests.accounts.conftest import link_in

pytestmark = pytest.mark.django_db

NEW = "Invited-Secret-2024"


@pytest.fixture
def invite_path(invited_user, outbox):
    services.user_send_invite(user=invited_user)
    return link_in(outbox[-1], contains="/accounts/invite/")


def test_user_invite_creates_a_pending_user_without_password_and_mails_the_link(outbox, staff):
    result = services.user_invite(
        email="Fresh@Example.ru", full_name="Фёдор", role=Role.USER, invited_by=staff
    )
    assert result.email_sent
    user = result.user
    assert user.email == "fresh@example.ru"
    assert user.status == Status.PENDING and not user.has_usable_password()
    assert "пригла" in outbox[0].subject.lower()
    link_in(outbox[0], contains="/accounts/invite/")


def test_the_invitation_page_asks_for_name_and_password(client, invite_path):
    response = client.get(invite_path)
    html = response.content.decode()
    assert response.status_code == 200
    for name in ("full_name", "password1", "password2"):
        assert f'<label for="id_{name}">' in html
    assert "invited@example.ru" in html


def test_accepting_sets_the_password_activates_and_logs_in(client, invite_path, invited_user):
    response = client.post(
        invite_path, {"full_name": "Инна Новая", "password1": NEW, "password2": NEW}
    )
    assert response["Location"] == reverse("sync:dashboard")
    invited_user.refresh_from_db()
    assert invited_user.status == Status.ACTIVE
    assert invited_user.check_password(NEW)
    assert invited_user.full_name == "Инна Новая"
    assert invited_user.email_confirmed_at is not None
    assert client.get(reverse("accounts:profile")).context["user"] == invited_user


def test_a_weak_password_is_refused_and_nothing_changes(client, invite_path, invited_user):
    response = client.post(invite_path, {"full_name": "", "password1": "123", "password2": "123"})
    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    invited_user.refresh_from_db()
    assert invited_user.status == Status.PENDING and not invited_user.has_usable_password()


def test_an_accepted_invitation_cannot_be_used_again(client, invite_path, invited_user):
    client.post(invite_path, {"full_name": "", "password1": NEW, "password2": NEW})
    client.post(reverse("accounts:logout"))
    again = client.get(invite_path)
    assert again.status_code == 400
    assert "уже использована" in again.content.decode()
    hijack = client.post(
        invite_path, {"password1": "Other-Pass-99x", "password2": "Other-Pass-99x"}
    )
    assert hijack.status_code == 400
    invited_user.refresh_from_db()
    assert invited_user.check_password(NEW)


def test_an_expired_invitation_is_refused(client, invite_path, invited_user, clock, settings):
    clock.advance(hours=settings.INVITE_EXPIRE_HOURS, seconds=1)
    response = client.post(invite_path, {"password1": NEW, "password2": NEW})
    assert response.status_code == 400
    html = response.content.decode()
    assert "устарела" in html
    assert 'value="invited@example.ru"' in html
    invited_user.refresh_from_db()
    assert invited_user.status == Status.PENDING


def test_a_tampered_invitation_is_refused(client, invite_path, invited_user):
    response = client.get(invite_path.rstrip("/") + "x/")
    assert response.status_code == 400
    assert "недействительна" in response.content.decode()


def test_a_confirmation_link_is_not_an_invitation(client, pending_user):
    token = tokens.email_confirmation_token_make(pending_user)
    assert client.get(reverse("accounts:invite_accept", args=[token])).status_code == 400


def test_an_invitation_to_a_suspended_account_is_dead(client, invite_path, invited_user):
    services.user_suspend(user=invited_user, reason="Ошибка")
    assert client.get(invite_path).status_code == 400
    assert User.objects.get(pk=invited_user.pk).status == Status.SUSPENDED


def test_invite_refuses_a_taken_address(owner):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.user_invite(email="OWNER@example.ru")
    assert User.objects.filter(email="owner@example.ru").count() == 1
