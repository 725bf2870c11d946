"""Password hashing and the createsuperuser command with the custom user."""

import importlib

import pytest
from django.core.management import call_command

from accounts.models import Role, Status, User


def test_bcrypt_is_the_first_password_hasher_of_the_real_settings():
    real = importlib.import_module("evosync.settings")
    assert real.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.BCryptSHA256PasswordHasher"


@pytest.mark.django_db
def test_createsuperuser_makes_an_active_system_user(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Root-Password-2024!")
    call_command("createsuperuser", interactive=False, email="Root@Example.ru", verbosity=0)
    user = User.objects.get(email="root@example.ru")
    assert user.role == Role.SYSTEM
    assert user.status == Status.ACTIVE
    assert user.is_superuser and user.is_staff and user.is_active
    assert user.check_password("Root-Password-2024!")
    assert list(user.groups.values_list("name", flat=True)) == ["system"]
