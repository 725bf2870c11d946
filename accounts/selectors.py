"""Reads on users."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Role, Status, User


def user_get_by_email(email: str) -> User | None:
    """The user with this address, whatever its case, or None."""
    return User.objects.filter(email__iexact=email.strip()).first()


def user_get_pending_by_email(email: str) -> User | None:
    """The pending (not yet confirmed or invited) user with this address, or None."""
    return User.objects.filter(email__iexact=email.strip(), status=Status.PENDING).first()


def users_editable_by(viewer: User, queryset: QuerySet[User] | None = None) -> QuerySet[User]:
    """The users `viewer` may change in the admin: everyone for the system role; the admin role
    may not touch system accounts (that would be a way to become one)."""
    queryset = User.objects.all() if queryset is None else queryset
    if viewer.is_superuser:
        return queryset
    return queryset.exclude(role=Role.SYSTEM)
