"""Login, logout, and django-axes throttling."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
LOGOUT = reverse("accounts:logout")


def test_login_page_labels_both_fields(client):
    response = client.get(LOGIN)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_username">' in html and '<label for="id_password">' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_an_active_user_logs_in_with_any_case_of_their_address(client, owner, password):
    response = client.post(LOGIN, {"username": "Owner@Example.RU", "password": password})
    assert response.status_code == 302
    assert response["Location"] == reverse("sync:dashboard")
    assert client.get(reverse("accounts:profile")).context["user"] == owner


def test_login_follows_a_safe_next_and_ignores_a_foreign_one(client, owner, password):
    safe = client.post(
        LOGIN + "?next=/accounts/profile/edit/", {"username": owner.email, "password": password}
    )
    assert safe["Location"] == "/accounts/profile/edit/"
    client.post(LOGOUT)
    foreign = client.post(
        LOGIN + "?next=https://evil.example.com/", {"username": owner.email, "password": password}
    )
    assert foreign["Location"] == reverse("sync:dashboard")


def test_a_wrong_password_gets_a_generic_error(client, owner):
    response = client.post(LOGIN, {"username": owner.email, "password": "wrong-password"})
    assert response.status_code == 200
    assert "Неверный адрес электронной почты или пароль" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_unknown_address_gets_the_same_generic_error(client, owner):
    wrong_password = client.post(LOGIN, {"username": owner.email, "password": "nope-nope"})
    unknown = client.post(LOGIN, {"username": "ghost@example.ru", "password": "nope-nope"})
    assert (
        wrong_password.context["form"].non_field_errors()
        == unknown.context["form"].non_field_errors()
    )


def test_a_pending_user_is_told_to_confirm_and_offered_a_new_link(client, pending_user, password):
    response = client.post(LOGIN, {"username": pending_user.email, "password": password})
    html = response.content.decode()
    assert response.status_code == 200
    assert "не подтвержд" in html
    assert reverse("accounts:resend_confirmation") + "?email=pending%40example.ru" in html
    assert "_auth_user_id" not in client.session


def test_a_pending_user_with_a_wrong_password_learns_nothing(client, pending_user):
    response = client.post(LOGIN, {"username": pending_user.email, "password": "wrong-pass"})
    assert "не подтвержд" not in response.content.decode()


def test_a_suspended_user_is_told_the_reason(client, suspended_user, password):
    response = client.post(LOGIN, {"username": suspended_user.email, "password": password})
    html = response.content.decode()
    assert "приостановлен" in html
    assert "Неоплаченный счёт" in html
    assert "_auth_user_id" not in client.session


def test_a_suspended_user_without_a_reason_is_sent_to_support(client, suspended_user, password):
    suspended_user.suspension_reason = ""
    suspended_user.save()
    response = client.post(LOGIN, {"username": suspended_user.email, "password": password})
    assert "поддержк" in response.content.decode()


def test_a_session_stops_working_once_the_user_is_suspended(owner_client, owner):
    from accounts.services import user_suspend

    assert owner_client.get(reverse("accounts:profile")).status_code == 200
    user_suspend(user=owner, reason="Проверка")
    assert owner_client.get(reverse("accounts:profile")).status_code == 302


def test_the_login_form_needs_its_csrf_token(owner, password):
    client = Client(enforce_csrf_checks=True)
    response = client.post(LOGIN, {"username": owner.email, "password": password})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_logout_refuses_get(owner_client):
    assert owner_client.get(LOGOUT).status_code == 405
    assert "_auth_user_id" in owner_client.session


def test_logout_by_post_ends_the_session(owner_client):
    response = owner_client.post(LOGOUT, follow=True)
    assert response.redirect_chain[-1][0] == LOGIN
    assert "_auth_user_id" not in owner_client.session
    assert "вышли" in response.content.decode()


def fail(client, email, times):
    responses = [
        client.post(LOGIN, {"username": email, "password": "wrong-pass"}) for _ in range(times)
    ]
    return responses[-1]


def test_too_many_wrong_passwords_lock_the_login(client, owner, password, settings):
    limit = settings.AXES_FAILURE_LIMIT
    assert fail(client, owner.email, limit - 1).status_code == 200
    locked = fail(client, owner.email, 1)
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "Слишком много попыток" in html
    assert "15 минут" in html
    assert reverse("accounts:password_reset") in html
    # Even the right password is refused during the cool-off.
    again = client.post(LOGIN, {"username": owner.email, "password": password})
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_address_and_ip(client, owner, other_merchant, password, settings):
    fail(client, owner.email, settings.AXES_FAILURE_LIMIT)
    other = client.post(LOGIN, {"username": other_merchant.email, "password": password})
    assert other.status_code == 302
    elsewhere = Client(REMOTE_ADDR="10.1.2.3")
    assert elsewhere.post(LOGIN, {"username": owner.email, "password": password}).status_code == 302


def test_the_lock_lifts_after_the_cool_off(client, owner, password, settings):
    fail(client, owner.email, settings.AXES_FAILURE_LIMIT)
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    response = client.post(LOGIN, {"username": owner.email, "password": password})
    assert response.status_code == 302
