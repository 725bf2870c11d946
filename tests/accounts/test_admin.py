"""The users admin: who reaches it, the list, editing, the actions, and inviting a new user."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from accounts.models import Role, Status, User
from tests.accounts.conftest import link_in

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_user_changelist")
ADD = reverse("admin:accounts_user_add")


def change_url(user):
    return reverse("admin:accounts_user_change", args=[user.pk])


@pytest.fixture
def system_client(system_user):
    client = Client()
    client.force_login(system_user)
    return client


@pytest.mark.parametrize("persona", ["staff", "system_user"])
def test_admin_and_system_roles_reach_the_users_admin(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(CHANGELIST).status_code == 200
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 200


def test_a_merchant_does_not_reach_the_admin(owner_client):
    for url in (reverse("admin:index"), CHANGELIST):
        response = owner_client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_anonymous_visitors_do_not_reach_the_admin(client):
    assert client.get(CHANGELIST).status_code == 302


def test_the_admin_speaks_russian(staff_client):
    html = staff_client.get(CHANGELIST).content.decode()
    assert "Пользователи" in html
    assert "Приостановить выбранных пользователей" in html


def test_the_user_list_searches_by_email_and_name(staff_client, owner, other_merchant):
    by_email = staff_client.get(CHANGELIST, {"q": "owner@"})
    assert list(by_email.context["cl"].result_list) == [owner]
    by_name = staff_client.get(CHANGELIST, {"q": "Иван"})
    assert list(by_name.context["cl"].result_list) == [other_merchant]


def test_the_user_list_filters_by_role_and_status(staff_client, owner, pending_user, staff):
    pending = staff_client.get(CHANGELIST, {"status__exact": "pending"})
    assert list(pending.context["cl"].result_list) == [pending_user]
    admins = staff_client.get(CHANGELIST, {"role__exact": "admin"})
    assert list(admins.context["cl"].result_list) == [staff]


def test_the_detail_page_links_to_the_standard_password_change(staff_client, owner):
    response = staff_client.get(change_url(owner))
    assert response.status_code == 200
    assert "../password/" in response.content.decode()
    password_url = reverse("admin:auth_user_password_change", args=[owner.pk])
    assert staff_client.get(password_url).status_code == 200


def edit_data(user, **overrides):
    data = {
        "full_name": user.full_name,
        "phone": user.phone,
        "role": user.role,
        "status": user.status,
        "suspension_reason": user.suspension_reason,
    }
    data.update(overrides)
    return data


def test_staff_edit_name_phone_role_and_status(staff_client, owner):
    response = staff_client.post(
        change_url(owner),
        edit_data(owner, full_name="Ольга Изменённая", phone="+7 900 000-00-00", role="admin"),
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.full_name == "Ольга Изменённая" and owner.phone == "+7 900 000-00-00"
    assert owner.role == Role.ADMIN and owner.is_staff
    assert list(owner.groups.values_list("name", flat=True)) == ["admin"]


def test_suspending_in_the_form_needs_a_reason(staff_client, owner):
    response = staff_client.post(change_url(owner), edit_data(owner, status="suspended"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["suspension_reason"]
    owner.refresh_from_db()
    assert owner.status == Status.ACTIVE


def test_an_admin_cannot_make_anyone_a_system_user(staff_client, owner):
    response = staff_client.post(change_url(owner), edit_data(owner, role="system"))
    assert response.status_code == 200
    owner.refresh_from_db()
    assert owner.role == Role.USER


def test_an_admin_cannot_change_or_delete_a_system_user(staff_client, system_user):
    response = staff_client.post(change_url(system_user), edit_data(system_user, full_name="Взлом"))
    assert response.status_code == 403
    delete = staff_client.post(
        reverse("admin:accounts_user_delete", args=[system_user.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    system_user.refresh_from_db()
    assert system_user.full_name == "Системный Пользователь"


def test_the_system_role_can_grant_the_system_role(system_client, owner):
    system_client.post(change_url(owner), edit_data(owner, role="system"))
    owner.refresh_from_db()
    assert owner.role == Role.SYSTEM and owner.is_superuser


def test_staff_delete_a_user(staff_client, owner):
    response = staff_client.post(
        reverse("admin:accounts_user_delete", args=[owner.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not User.objects.filter(pk=owner.pk).exists()


def run_action(client, action, users, **extra):
    return client.post(
        CHANGELIST, {"action": action, ACTION_CHECKBOX_NAME: [u.pk for u in users], **extra}
    )


def test_activate_action_activates_and_tells_the_user(
    staff_client, pending_user, suspended_user, outbox
):
    response = run_action(staff_client, "activate_users", [pending_user, suspended_user])
    assert response.status_code == 302
    for user in (pending_user, suspended_user):
        user.refresh_from_db()
        assert user.status == Status.ACTIVE and user.suspension_reason == ""
    assert sorted(m.to[0] for m in outbox) == sorted([pending_user.email, suspended_user.email])
    assert "активирован" in outbox[0].subject


def test_suspend_action_asks_for_a_reason_first(staff_client, owner, other_merchant):
    response = run_action(staff_client, "suspend_users", [owner, other_merchant])
    assert response.status_code == 200
    html = response.content.decode()
    assert owner.email in html and other_merchant.email in html
    assert response.context["form"]["reason"].value()  # a default reason is offered
    owner.refresh_from_db()
    assert owner.status == Status.ACTIVE


def test_suspend_action_records_the_reason(staff_client, owner, other_merchant, password):
    response = run_action(
        staff_client,
        "suspend_users",
        [owner, other_merchant],
        apply="1",
        reason="Жалобы покупателей",
    )
    assert response.status_code == 302
    for user in (owner, other_merchant):
        user.refresh_from_db()
        assert user.status == Status.SUSPENDED
        assert user.suspension_reason == "Жалобы покупателей"
    login = Client().post(
        reverse("accounts:login"), {"username": owner.email, "password": password}
    )
    assert "Жалобы покупателей" in login.content.decode()


def test_suspend_action_with_an_empty_reason_shows_the_form_again(staff_client, owner):
    response = run_action(staff_client, "suspend_users", [owner], apply="1", reason="")
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    owner.refresh_from_db()
    assert owner.status == Status.ACTIVE


def test_staff_cannot_suspend_themselves_or_a_system_user(staff_client, staff, system_user):
    response = run_action(
        staff_client, "suspend_users", [staff, system_user], apply="1", reason="x"
    )
    assert response.status_code == 302
    staff.refresh_from_db()
    system_user.refresh_from_db()
    assert staff.status == Status.ACTIVE and system_user.status == Status.ACTIVE


def test_reset_password_action_mails_a_working_link(staff_client, owner, pending_user, outbox):
    response = run_action(staff_client, "send_password_reset", [owner, pending_user], follow=True)
    assert response.status_code == 302
    assert [m.to for m in outbox] == [[owner.email]]
    path = link_in(outbox[0], contains="/accounts/password/reset/")
    assert Client().get(path, follow=True).context["validlink"]


def test_send_invite_action_mails_pending_users_only(staff_client, owner, invited_user, outbox):
    run_action(staff_client, "send_invite", [owner, invited_user])
    assert [m.to for m in outbox] == [[invited_user.email]]
    path = link_in(outbox[0], contains="/accounts/invite/")
    assert Client().get(path).status_code == 200


def test_the_add_form_invites_a_new_user(staff_client, staff, outbox):
    page = staff_client.get(ADD)
    assert page.status_code == 200
    assert "Пригласить пользователя" in page.content.decode()
    assert set(page.context["adminform"].form.fields) == {"email", "full_name", "role"}
    response = staff_client.post(
        ADD, {"email": "Newbie@Example.ru", "full_name": "Новый Продавец", "role": "user"}
    )
    user = User.objects.get(email="newbie@example.ru")
    assert response.status_code == 302
    assert response["Location"] == change_url(user)
    assert user.status == Status.PENDING and not user.has_usable_password()
    assert user.full_name == "Новый Продавец"
    assert [m.to for m in outbox] == [["newbie@example.ru"]]
    shown = [str(m) for m in staff_client.get(response["Location"]).context["messages"]]
    assert "Приглашение отправлено на newbie@example.ru." in shown
    path = link_in(outbox[0], contains="/accounts/invite/")
    new = "First-Password-123"
    Client().post(path, {"full_name": "", "password1": new, "password2": new})
    user.refresh_from_db()
    assert user.status == Status.ACTIVE and user.check_password(new)


def test_the_add_form_refuses_a_taken_address(staff_client, owner, outbox):
    response = staff_client.post(
        ADD, {"email": "OWNER@example.ru", "full_name": "", "role": "user"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"]
    assert outbox == []
    assert User.objects.filter(email__iexact="owner@example.ru").count() == 1


def test_the_add_form_offers_the_system_role_only_to_the_system_role(staff_client, system_client):
    def roles(client):
        form = client.get(ADD).context["adminform"].form
        return [value for value, _label in form.fields["role"].choices]

    assert "system" not in roles(staff_client) and "admin" in roles(staff_client)
    assert "system" in roles(system_client)


def test_role_groups_cannot_be_deleted_but_show_their_users(system_client, owner):
    group = Group.objects.get(name="user")
    response = system_client.get(reverse("admin:auth_group_changelist"))
    assert response.status_code == 200
    delete = system_client.post(
        reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    assert Group.objects.filter(name="user").exists()


def test_an_admin_sees_the_roles_but_cannot_change_their_permissions(staff_client):
    group = Group.objects.get(name="admin")
    url = reverse("admin:auth_group_change", args=[group.pk])
    assert staff_client.get(url).status_code == 200
    staff_client.post(url, {"name": "admin", "permissions": []})
    assert group.permissions.exists()


def test_the_add_form_reports_an_invitation_that_could_not_be_sent(staff_client, monkeypatch):
    import smtplib

    def refuse(self, messages):
        raise smtplib.SMTPServerDisconnected("down")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    response = staff_client.post(
        ADD, {"email": "later@example.ru", "full_name": "", "role": "user"}, follow=True
    )
    assert User.objects.filter(email="later@example.ru", status=Status.PENDING).exists()
    assert "не удалось отправить" in response.content.decode()


def test_activating_an_invitee_without_a_password_mails_a_link_to_choose_one(
    staff_client, invited_user, outbox
):
    run_action(staff_client, "activate_users", [invited_user])
    invited_user.refresh_from_db()
    assert invited_user.status == Status.ACTIVE
    path = link_in(outbox[-1], contains="/accounts/password/reset/")
    anonymous = Client()
    set_url = anonymous.get(path, follow=True).redirect_chain[-1][0]
    new = "Chosen-At-Last-99"
    anonymous.post(set_url, {"new_password1": new, "new_password2": new})
    invited_user.refresh_from_db()
    assert invited_user.check_password(new)
