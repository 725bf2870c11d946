"""Forgot password: the request form, the e-mailed link, and setting the new password."""

import pytest
from django.urls import reverse

from accounts.models import User
from tests.accounts.conftest import link_in

pytestmark = pytest.mark.django_db

FORGOT = reverse("accounts:password_reset")
NEW = "Brand-New-Secret-77"


def request_link(client, outbox, email) -> str:
    client.post(FORGOT, {"email": email})
    return link_in(outbox[-1], contains="/accounts/password/reset/")


def test_forgot_page_has_a_labelled_field(client):
    html = client.get(FORGOT).content.decode()
    assert '<label for="id_email">' in html


def test_a_known_active_user_gets_a_reset_link(client, owner, outbox):
    response = client.post(FORGOT, {"email": "OWNER@example.ru"})
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert len(outbox) == 1 and outbox[0].to == [owner.email]
    assert "парол" in outbox[0].subject.lower()
    assert outbox[0].alternatives[0][1] == "text/html"


@pytest.mark.parametrize("who", ["nobody@example.ru", "pending@example.ru", "suspended@example.ru"])
def test_no_mail_for_unknown_or_inactive_addresses_but_the_same_page(
    client, outbox, pending_user, suspended_user, who
):
    response = client.post(FORGOT, {"email": who})
    assert response["Location"] == reverse("accounts:password_reset_done")
    assert outbox == []


def test_the_link_sets_a_new_password(client, owner, outbox, password):
    path = request_link(client, outbox, owner.email)
    form_page = client.get(path, follow=True)
    assert form_page.context["validlink"]
    html = form_page.content.decode()
    assert '<label for="id_new_password1">' in html
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": NEW, "new_password2": NEW})
    assert done["Location"] == reverse("accounts:password_reset_complete")
    owner.refresh_from_db()
    assert owner.check_password(NEW) and not owner.check_password(password)
    assert client.get(done["Location"]).status_code == 200


def test_the_new_password_must_pass_the_validators(client, owner, outbox, password):
    path = request_link(client, outbox, owner.email)
    set_url = client.get(path, follow=True).redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": "12345", "new_password2": "12345"})
    assert response.status_code == 200
    assert response.context["form"].errors
    owner.refresh_from_db()
    assert owner.check_password(password)


def test_a_used_reset_link_no_longer_works(client, owner, outbox):
    path = request_link(client, outbox, owner.email)
    set_url = client.get(path, follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": NEW, "new_password2": NEW})
    again = client.get(path, follow=True)
    assert not again.context["validlink"]
    assert reverse("accounts:password_reset") in again.content.decode()


def test_an_expired_reset_link_is_refused(client, owner, outbox, clock, settings, password):
    path = request_link(client, outbox, owner.email)
    clock.advance(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    response = client.get(path, follow=True)
    assert not response.context["validlink"]
    assert "не работает" in response.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(password)


def test_a_tampered_reset_link_is_refused(client, owner, outbox, password):
    path = request_link(client, outbox, owner.email)
    bad = path.rstrip("/")[:-2] + "zz/"
    response = client.get(bad, follow=True)
    assert not response.context["validlink"]
    other = User.objects.create_user(email="x@example.ru", password=password, status="active")
    foreign = path.replace(path.split("/")[-3], str(other.pk))
    assert not client.get(foreign, follow=True).context["validlink"]
