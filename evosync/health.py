"""Checks behind /health: can we reach the database and the job broker right now."""

from django.db import connection
from django_q.brokers import get_broker


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def broker_ok() -> bool:
    try:
        return bool(get_broker().ping())
    except Exception:
        return False
