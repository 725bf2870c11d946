# SyncFilter now belongs to the catalog app (catalog/migrations/0002_syncfilter.py): drop it
# from this app's state only; the table `sync_syncfilter` and its rows stay. The content type
# follows the model, so permissions already granted on it keep working.

from django.db import migrations


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="catalog", model="syncfilter").exists():
        ContentType.objects.filter(app_label="sync", model="syncfilter").update(
            app_label="catalog"
        )


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="sync", model="syncfilter").exists():
        ContentType.objects.filter(app_label="catalog", model="syncfilter").update(
            app_label="sync"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0003_run_confirmed_removals"),
        ("catalog", "0002_syncfilter"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="SyncFilter")],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
