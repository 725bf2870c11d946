"""Takes back from the admin role the django-q2 permissions it no longer has (issue 13, item 1).

Granting is additive (accounts/roles.py), so groups created before this change still hold
"change" on successful tasks, queued tasks and the task model. Pausing schedules and
resubmitting failed tasks keep their "change" permission.
"""

from django.db import migrations

KEEP = {"change_schedule", "change_failure"}


def revoke_queue_changes(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    group = Group.objects.using(db).filter(name="admin").first()
    if group is None:
        return
    revoked = (
        Permission.objects.using(db)
        .filter(content_type__app_label="django_q")
        .exclude(codename__startswith="view_")
        .exclude(codename__in=KEEP)
    )
    group.permissions.remove(*revoked)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_role_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(revoke_queue_changes, migrations.RunPython.noop)]
