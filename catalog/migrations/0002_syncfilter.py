# The store and group switches move from the sync app to the catalog app, whose pages write
# them (issue 9: no catalog → sync import). Only Django's state moves: the table keeps its name
# `sync_syncfilter` and its rows, so there is nothing to copy.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("sync", "0003_run_confirmed_removals"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="SyncFilter",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "entity_type",
                            models.CharField(
                                choices=[("store", "Store"), ("group", "Product group")],
                                max_length=16,
                                verbose_name="kind",
                            ),
                        ),
                        ("entity_id", models.CharField(max_length=64, verbose_name="Evotor id")),
                        (
                            "parent_entity_id",
                            models.CharField(
                                blank=True, default="", max_length=64, verbose_name="Evotor store id"
                            ),
                        ),
                        ("enabled", models.BooleanField(default=False, verbose_name="published")),
                        ("updated_at", models.DateTimeField(auto_now=True, verbose_name="changed at")),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="sync_filters",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "sync filter",
                        "verbose_name_plural": "sync filters",
                        "db_table": "sync_syncfilter",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("user", "entity_type", "parent_entity_id", "entity_id"),
                                name="sync_filter_unique",
                            )
                        ],
                    },
                ),
            ],
        ),
    ]
