"""The three roles as Django groups, and the permissions each one is granted.

The groups themselves are created by a data migration (`0002_role_groups`). Their permissions are
granted here, from `ROLE_PERMISSIONS`, by a `post_migrate` receiver: apps added later bring new
models (and so new permissions), and a migration of this app could not see them.

Granting is additive: a permission staff added to a group through the Group admin is kept on the
next deploy; one removed from the map is not taken back automatically.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS

from accounts.models import Role


@dataclass(frozen=True)
class Grant:
    """The default permissions `actions` on the models of `app_label` (all of them, or `model`)."""

    app_label: str
    actions: tuple[str, ...]
    model: str | None = None


# Apps whose objects staff (the admin role) look after through the Django admin.
STAFF_APPS = (
    "accounts",
    "connections",
    "catalog",
    "vk_catalog",
    "sync",
    "webhooks",
    "axes",
)

# The task queue: the admin role looks at it, pauses schedules ("change" on a schedule) and
# resubmits failed EvoSync tasks ("change" on a failure); evosync/admin.py keeps editing and
# every other function for the system role, because the worker runs whatever a schedule names.
QUEUE_GRANTS = (
    Grant("django_q", ("view",)),
    Grant("django_q", ("change",), model="schedule"),
    Grant("django_q", ("change",), model="failure"),
)

ROLE_PERMISSIONS: dict[str, tuple[Grant, ...]] = {
    # The system role is a superuser (User.save), so it needs no explicit permission.
    Role.SYSTEM: (),
    Role.ADMIN: (
        Grant("accounts", ("view", "change", "add", "delete"), model="user"),
        *(Grant(app, ("view", "change")) for app in STAFF_APPS),
        *QUEUE_GRANTS,
        # Staff may look at the roles; changing what a role may do is for the system role.
        Grant("auth", ("view",), model="group"),
    ),
    # Merchants only use the merchant pages, which check ownership, not permissions.
    Role.USER: (),
}


def role_permissions(role: str, *, using: str = DEFAULT_DB_ALIAS):
    """The `Permission` rows `ROLE_PERMISSIONS` grants to `role` (those that exist by now)."""
    from django.contrib.auth.models import Permission
    from django.db.models import Q

    query = Q(pk__in=[])
    for grant in ROLE_PERMISSIONS.get(role, ()):
        scope = Q(content_type__app_label=grant.app_label)
        if grant.model:
            scope &= Q(content_type__model=grant.model)
        codenames = Q(pk__in=[])
        for action in grant.actions:
            codenames |= Q(codename__startswith=f"{action}_")
        query |= scope & codenames
    return Permission.objects.using(using).filter(query)


def role_groups_sync(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Makes sure each role's group exists and holds the permissions the map grants it.

    Idempotent; runs after every `migrate` (and after a test database flush, which empties the
    group table).
    """
    from django.contrib.auth.models import Group

    for role in Role.values:
        group, _created = Group.objects.using(using).get_or_create(name=role)
        wanted = role_permissions(role, using=using)
        missing = wanted.exclude(group=group)
        if missing.exists():
            group.permissions.add(*missing)


def on_post_migrate(sender, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    """`post_migrate` receiver (connected in `AccountsConfig.ready`).

    Django sends `post_migrate` once per app, creating that app's permissions as it goes, so the
    groups are synced when the signal reaches the last app: by then every permission exists.
    """
    from django.apps import apps

    with_models = [config for config in apps.get_app_configs() if config.models_module]
    if with_models and sender is with_models[-1]:
        role_groups_sync(using=using)
