"""The three roles exist as groups after migrate, with the permissions accounts.roles declares."""

import pytest
from django.contrib.auth.models import Group, Permission

from accounts.models import Role
from accounts.roles import STAFF_APPS, role_groups_sync
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def codenames(group_name: str) -> set[str]:
    return {
        f"{app}.{code}"
        for app, code in Group.objects.get(name=group_name).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def test_the_three_role_groups_exist_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= {"system", "admin", "user"}


def test_admin_role_can_manage_users_and_look_after_the_staff_apps():
    perms = codenames("admin")
    assert {
        "accounts.view_user",
        "accounts.change_user",
        "accounts.add_user",
        "accounts.delete_user",
    } <= perms
    for app in STAFF_APPS:
        app_perms = Permission.objects.filter(content_type__app_label=app)
        for perm in app_perms.filter(codename__regex=r"^(view|change)_"):
            assert f"{app}.{perm.codename}" in perms
        # Deleting connections, runs or queue tasks is not part of the admin role.
        if app != "accounts":
            assert not {p for p in perms if p.startswith(f"{app}.delete_")}
    assert "django_q.view_task" in perms
    assert "axes.view_accessattempt" in perms
    assert "connections.change_evotorconnection" in perms


def test_user_and_system_roles_get_no_explicit_permissions():
    assert codenames("user") == set()
    assert codenames("system") == set()


def test_syncing_the_roles_again_changes_nothing_and_keeps_staff_additions():
    extra = Permission.objects.get(codename="delete_evotorconnection")
    Group.objects.get(name="admin").permissions.add(extra)
    before = codenames("admin")
    role_groups_sync()
    role_groups_sync()
    assert codenames("admin") == before
    assert Group.objects.filter(name__in=Role.values).count() == 3


def test_a_missing_role_group_is_recreated_by_the_sync():
    Group.objects.filter(name="admin").delete()
    role_groups_sync()
    assert "accounts.change_user" in codenames("admin")


def test_a_user_is_in_the_group_of_their_role_and_moves_with_it():
    user = make_user("roles@example.ru")
    assert list(user.groups.values_list("name", flat=True)) == ["user"]
    user.role = Role.ADMIN
    user.save()
    assert list(user.groups.values_list("name", flat=True)) == ["admin"]
    assert user.is_staff and not user.is_superuser


def test_the_admin_role_has_its_permissions_through_the_group():
    staff = make_user("perm-staff@example.ru", role=Role.ADMIN)
    assert staff.has_perm("accounts.change_user")
    assert staff.has_perm("connections.view_vkconnection")
    assert not staff.has_perm("connections.delete_vkconnection")
    merchant = make_user("perm-user@example.ru")
    assert not merchant.has_perm("accounts.view_user")
