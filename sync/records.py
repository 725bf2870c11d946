"""Writing a run's results fast: links, and how an item's failure is put to the merchant."""

from __future__ import annotations

from django.db import connections
from django.utils import timezone

from connections.vk_client import VkCallResult
from connections.vk_errors import VkApiError
from sync.models import ItemLink

LINK_FIELDS = (
    "vk_item_id",
    "sku",
    "state",
    "adopted",
    "album_ids",
    "content_hash",
    "published_fields",
    "photo_hash",
    "vk_photo_id",
    "source_hash",
    "evotor_image",
    "last_error",
    "error_count",
    "published_at",
    "updated_at",
)


def save_links(links: list[ItemLink]) -> None:
    """Write links' publishing fields: one prepared UPDATE run for every link.

    `bulk_update` builds a CASE expression per field and row, which costs more than the rest of
    a batch together; a plain parameterized UPDATE per row, sent with `executemany`, does not.
    """
    if not links:
        return
    now = timezone.now()
    connection = connections[ItemLink.objects.db]
    fields = [ItemLink._meta.get_field(name) for name in LINK_FIELDS]
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    # Only the model's own table and column names are spliced in; every value is a parameter.
    sql = (
        f"UPDATE {connection.ops.quote_name(ItemLink._meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {connection.ops.quote_name(ItemLink._meta.pk.column)} = %s"
    )
    rows = []
    for link in links:
        link.updated_at = now
        values = [f.get_db_prep_save(getattr(link, f.attname), connection) for f in fields]
        rows.append([*values, link.pk])
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def photo_id_of(save: VkCallResult | None) -> int | None:
    if save is None or not save.ok or not isinstance(save.value, dict):
        return None
    try:
        return int(save.value["photo_id"])
    except (KeyError, TypeError, ValueError):
        return None


def vk_message(error) -> str:
    """VK's own message for an item (what the merchant sees next to it), with its code."""
    if isinstance(error, VkApiError) and error.message and error.code > 0:
        return f"{error.message} ({error.code})"
    if isinstance(error, VkApiError):
        return error.user_message
    return str(error)


def jsonable(changes: dict) -> dict:
    out = {}
    for key, value in changes.items():
        if isinstance(value, list | tuple):
            out[key] = [
                v if isinstance(v, str | int | float | bool | list | type(None)) else str(v)
                for v in value
            ]
        else:
            out[key] = str(value)
    return out
