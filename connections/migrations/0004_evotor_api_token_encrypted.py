"""Encrypts the token EvoSync issued to Evotor (issue 13, item 6).

The column becomes a text column (an encrypted value is longer than the 128 characters of the
old one, and random, so it cannot be unique); then every stored plain token is encrypted in
place. Raw SQL, because the field now decrypts what it reads.
"""

from cryptography.fernet import InvalidToken
from django.db import migrations

import connections.crypto
import connections.models


def _rows(schema_editor, model):
    table = schema_editor.connection.ops.quote_name(model._meta.db_table)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT id, api_token FROM {table}")  # noqa: S608 - a table name
        return table, cursor.fetchall()


def _update(schema_editor, table, pk, value):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET api_token = %s WHERE id = %s", [value, pk])  # noqa: S608


def encrypt_tokens(apps, schema_editor):
    model = apps.get_model("connections", "EvotorConnection")
    fernet = connections.crypto.fernet()
    table, rows = _rows(schema_editor, model)
    for pk, value in rows:
        if not value:
            continue
        try:
            fernet.decrypt(value.encode())
        except InvalidToken:
            _update(schema_editor, table, pk, connections.crypto.encrypt(value))


def decrypt_tokens(apps, schema_editor):
    model = apps.get_model("connections", "EvotorConnection")
    table, rows = _rows(schema_editor, model)
    for pk, value in rows:
        if value:
            _update(schema_editor, table, pk, connections.crypto.decrypt(value))


class Migration(migrations.Migration):
    dependencies = [
        ("connections", "0003_vk_rate_limit_send_log"),
    ]

    operations = [
        migrations.AlterField(
            model_name="evotorconnection",
            name="api_token",
            field=connections.crypto.EncryptedTextField(
                default=connections.models.new_api_token,
                verbose_name="EvoSync token for Evotor",
            ),
        ),
        migrations.RunPython(encrypt_tokens, decrypt_tokens),
    ]
