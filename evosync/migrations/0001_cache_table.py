from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    # The embedded default keeps the cache (rate limiter, locks, django-q2 stats) in the
    # database; creating its table here means no deploy step can forget it.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies: list = []

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
