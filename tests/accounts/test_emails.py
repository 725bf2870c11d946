"""send_templated_email: the reusable subject / text / HTML sender other apps use for alerts."""

import smtplib

import pytest
from django.utils import translation

from accounts.emails import absolute_url, send_templated_email, send_templated_email_safely
from accounts.models import User

PREFIX = "accounts/email/account_activated"


@pytest.fixture
def someone():
    return User(email="someone@example.ru", full_name="Анна")


def test_one_message_with_text_and_html_from_the_triplet(outbox, someone, settings):
    settings.BASE_URL = "https://evosync.example.ru"
    link = absolute_url("accounts:login")
    assert link == "https://evosync.example.ru/accounts/login/"
    send_templated_email(["a@example.ru", "b@example.ru"], PREFIX, {"user": someone, "link": link})
    assert len(outbox) == 1
    message = outbox[0]
    assert message.to == ["a@example.ru", "b@example.ru"]
    assert "\n" not in message.subject
    assert message.subject == "Ваша учётная запись EvoSync активирована"
    assert "Здравствуйте, Анна!" in message.body and link in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{link}"' in html and "<html" in html
    assert message.from_email == settings.DEFAULT_FROM_EMAIL


def test_the_language_can_be_chosen_per_message(outbox, someone):
    send_templated_email("a@example.ru", PREFIX, {"user": someone, "link": "x"}, language="en")
    assert outbox[0].subject == "Your EvoSync account is active"
    # The caller's language is left as it was.
    assert translation.get_language() == "ru"


def test_text_part_is_not_html_escaped(outbox):
    user = User(email="q@example.ru", full_name="ООО «Рога & Копыта»")
    send_templated_email("q@example.ru", PREFIX, {"user": user, "link": "https://x/?a=1&b=2"})
    assert "«Рога & Копыта»" in outbox[0].body
    assert "https://x/?a=1&b=2" in outbox[0].body
    assert "Рога &amp; Копыта" in outbox[0].alternatives[0][0]


def test_a_delivery_failure_raises_but_the_safe_variant_answers_false(monkeypatch, someone):
    def refuse(self, messages):
        raise smtplib.SMTPRecipientsRefused({})

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    context = {"user": someone, "link": "x"}
    with pytest.raises(smtplib.SMTPException):
        send_templated_email("a@example.ru", PREFIX, context)
    assert send_templated_email_safely("a@example.ru", PREFIX, context) is False


def test_a_missing_template_is_a_bug_not_a_delivery_failure(someone):
    from django.template import TemplateDoesNotExist

    with pytest.raises(TemplateDoesNotExist):
        send_templated_email_safely("a@example.ru", "accounts/email/nope", {"user": someone})
