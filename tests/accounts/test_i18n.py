"""Russian by default, English on request."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_pages_are_russian_by_default(client):
    html = client.get(reverse("accounts:login")).content.decode()
    assert "Забыли пароль?" in html and 'lang="ru"' in html


def test_english_is_available(client):
    client.cookies["django_language"] = "en"
    html = client.get(reverse("accounts:login")).content.decode()
    assert "Forgot your password?" in html and 'lang="en"' in html


def test_a_visitor_reading_english_gets_english_mail(client, outbox):
    client.cookies["django_language"] = "en"
    client.post(
        reverse("accounts:register"),
        {
            "email": "en@example.ru",
            "full_name": "Jane",
            "password1": "Strong-Enough-Pass-42",
            "password2": "Strong-Enough-Pass-42",
        },
    )
    assert outbox[0].subject == "Confirm your e-mail for EvoSync"


def test_staff_actions_write_to_merchants_in_russian(staff_client, pending_user, outbox):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

    staff_client.cookies["django_language"] = "en"
    staff_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "send_password_reset", ACTION_CHECKBOX_NAME: [pending_user.pk]},
    )
    staff_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "activate_users", ACTION_CHECKBOX_NAME: [pending_user.pk]},
    )
    assert outbox[-1].subject == "Ваша учётная запись EvoSync активирована"
