"""Profile: view, edit, change password, delete the account."""

import pytest
from django.urls import reverse

from accounts.models import User
from connections.models import EvotorConnection

pytestmark = pytest.mark.django_db

PAGES = ["profile", "profile_edit", "password_change", "delete_account"]


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_login(client, name):
    url = reverse(f"accounts:{name}")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={url}"


@pytest.mark.parametrize("name", PAGES)
def test_every_profile_page_opens_for_its_owner_and_labels_its_fields(owner_client, name):
    response = owner_client.get(reverse(f"accounts:{name}"))
    assert response.status_code == 200
    form = response.context.get("form")
    html = response.content.decode()
    if form is not None:
        for field in form:
            assert f'<label for="{field.id_for_label}">' in html


def test_the_profile_shows_only_the_logged_in_users_data(owner_client, owner, other_merchant):
    html = owner_client.get(reverse("accounts:profile")).content.decode()
    assert owner.email in html and owner.full_name in html
    assert other_merchant.email not in html


def test_editing_the_profile_saves_name_and_phone(owner_client, owner):
    response = owner_client.post(
        reverse("accounts:profile_edit"),
        {"full_name": "Ольга Новая", "phone": "+7 (912) 345-67-89"},
    )
    assert response["Location"] == reverse("accounts:profile")
    owner.refresh_from_db()
    assert owner.full_name == "Ольга Новая" and owner.phone == "+7 (912) 345-67-89"


def test_a_bad_phone_is_refused_and_nothing_is_saved(owner_client, owner):
    response = owner_client.post(
        reverse("accounts:profile_edit"), {"full_name": "Другое Имя", "phone": "позвоните мне"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["phone"]
    owner.refresh_from_db()
    assert owner.full_name == "Ольга Владелец" and owner.phone == ""


def test_editing_cannot_touch_role_or_status(owner_client, owner):
    owner_client.post(
        reverse("accounts:profile_edit"),
        {"full_name": "X", "phone": "", "role": "system", "status": "suspended"},
    )
    owner.refresh_from_db()
    assert owner.role == "user" and owner.status == "active"


def test_changing_the_password_keeps_the_session(owner_client, owner, password):
    new = "Changed-Secret-555"
    response = owner_client.post(
        reverse("accounts:password_change"),
        {"old_password": password, "new_password1": new, "new_password2": new},
    )
    assert response["Location"] == reverse("accounts:profile")
    owner.refresh_from_db()
    assert owner.check_password(new)
    assert owner_client.get(reverse("accounts:profile")).status_code == 200


def test_changing_the_password_needs_the_current_one(owner_client, owner, password):
    new = "Changed-Secret-555"
    response = owner_client.post(
        reverse("accounts:password_change"),
        {"old_password": "not-it", "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["old_password"]
    owner.refresh_from_db()
    assert owner.check_password(password)


def test_a_weak_new_password_is_refused(owner_client, owner, password):
    response = owner_client.post(
        reverse("accounts:password_change"),
        {"old_password": password, "new_password1": "qwerty", "new_password2": "qwerty"},
    )
    assert response.context["form"].errors["new_password2"]
    owner.refresh_from_db()
    assert owner.check_password(password)


@pytest.fixture
def owner_connection(owner):
    return EvotorConnection.objects.create(user=owner, cloud_token="secret-cloud-token")


def test_deleting_with_a_wrong_password_keeps_everything(owner_client, owner, owner_connection):
    response = owner_client.post(reverse("accounts:delete_account"), {"password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].errors["password"]
    assert User.objects.filter(pk=owner.pk).exists()
    assert EvotorConnection.objects.filter(pk=owner_connection.pk).exists()
    assert "_auth_user_id" in owner_client.session


def test_deleting_with_the_password_removes_the_user_and_their_data(
    owner_client, owner, owner_connection, other_merchant, password
):
    other_connection = EvotorConnection.objects.create(user=other_merchant, cloud_token="t2")
    response = owner_client.post(
        reverse("accounts:delete_account"), {"password": password}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("accounts:login")
    assert "удал" in response.content.decode()
    assert not User.objects.filter(pk=owner.pk).exists()
    assert not EvotorConnection.objects.filter(pk=owner_connection.pk).exists()
    assert EvotorConnection.objects.filter(pk=other_connection.pk).exists()
    assert "_auth_user_id" not in owner_client.session


def test_deleting_needs_post(owner_client, owner):
    owner_client.get(reverse("accounts:delete_account"))
    assert User.objects.filter(pk=owner.pk).exists()
