"""Creates the three role groups and puts every existing user in the group of their role.

Permissions are granted by `accounts.roles` after every migrate, when all apps' permissions exist.
"""

from django.db import migrations

ROLES = ("system", "admin", "user")


def create_role_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("accounts", "User")
    db = schema_editor.connection.alias
    groups = {name: Group.objects.using(db).get_or_create(name=name)[0] for name in ROLES}
    Membership = User.groups.through
    existing = set(
        Membership.objects.using(db).values_list("user_id", "group_id")
    )
    Membership.objects.using(db).bulk_create(
        [
            Membership(user_id=user_id, group_id=groups[role].pk)
            for user_id, role in User.objects.using(db).values_list("pk", "role")
            if role in groups and (user_id, groups[role].pk) not in existing
        ]
    )


def remove_role_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_role_groups, remove_role_groups)]
