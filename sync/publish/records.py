"""Persistence of a run's results: links, run items and the run's counters, written fast.

Every batch's results go out in one transaction as soon as they arrive (sync/publish/
executor.py); this module is the only place that builds a `SyncRunItem` or lists the run's
counters.
"""

from __future__ import annotations

from django.db import connections

from connections.vk_client import VkCallResult
from connections.vk_errors import VkApiError
from sync.models import ItemLink, LinkState, RunAction, RunItemStatus, SyncRun, SyncRunItem
from sync.plan.plan import Plan, PlanItem
from sync.publish.work import Outcome

# The `SyncRun.COUNTERS` an item that went through adds to, by its action.
COUNTER_OF_ACTION = {
    RunAction.CREATE: "created",
    RunAction.UPDATE: "updated",
    RunAction.HIDE: "hidden",
    RunAction.RESTORE: "restored",
    RunAction.DELETE: "deleted",
    RunAction.ADOPT: "adopted",
}

LINK_FIELDS = (
    "vk_item_id",
    "sku",
    "state",
    "adopted",
    "album_ids",
    "published_fields",
    "vk_edits",
    "photo_hash",
    "vk_photo_id",
    "source_hash",
    "evotor_image",
    "evotor_extra_images",
    "extra_photos",
    "last_error",
    "error_count",
    "published_at",
    "updated_at",
)


def create_missing_links(user, plan: Plan, links: dict[tuple[str, str], ItemLink]) -> None:
    """A `pending` link for every item to apply that has none yet, added to `links`."""
    new_links = [
        ItemLink(
            user=user,
            store_id=item.store_id,
            product_id=item.product_id,
            product_name=item.product_name[:255],
            sku=item.sku or (item.desired.fields["sku"] if item.desired else ""),
            state=LinkState.PENDING,
        )
        for item in plan.items
        if not item.skipped and item.key not in links
    ]
    if not new_links:
        return
    ItemLink.objects.bulk_create(new_links, batch_size=500)
    if all(link.pk is not None for link in new_links):
        # The database returned their ids (SQLite, MariaDB, PostgreSQL): no need to read them.
        for link in new_links:
            links[(link.store_id, link.product_id)] = link
        return
    wanted = {(link.store_id, link.product_id) for link in new_links}
    for link in ItemLink.objects.filter(user=user, vk_item_id__isnull=True):
        if (link.store_id, link.product_id) in wanted:
            links[(link.store_id, link.product_id)] = link


def save_links(links: list[ItemLink]) -> None:
    """Write links' publishing fields: one prepared UPDATE run for every link.

    `bulk_update` builds a CASE expression per field and row, which costs more than the rest of
    a batch together; a plain parameterized UPDATE per row, sent with `executemany`, does not.
    """
    from django.utils import timezone

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


def run_item(
    *,
    run: SyncRun,
    link: ItemLink | None,
    action: str,
    status: str,
    error: str = "",
    item: PlanItem | None = None,
    changes: dict | None = None,
) -> SyncRunItem:
    """The one way a run item is built: for a plan item, or (`item` None) for a bare link."""
    source = item if item is not None else link
    action = action if action in RunAction.values else RunAction.UPDATE
    return SyncRunItem(
        run=run,
        link=link,
        store_id=source.store_id,
        product_id=source.product_id,
        product_name=source.product_name[:255],
        action=action,
        status=status,
        error=error,
        changes=jsonable(item.changes if item is not None else (changes or {})),
    )


class RunRecorder:
    """A run's counters and rows as they are being written: links marked dirty and run items
    collect in memory, `flush` writes them, `save_counters` the run's counters."""

    def __init__(self, run: SyncRun):
        self.run = run
        self.dirty_links: dict[int, ItemLink] = {}
        self.pending_items: list[SyncRunItem] = []

    def dirty(self, link: ItemLink) -> None:
        if link.pk is not None:
            self.dirty_links[link.pk] = link

    def count(self, counter: str, n: int = 1) -> None:
        setattr(self.run, counter, getattr(self.run, counter) + n)

    def item_done(
        self, item: PlanItem, link: ItemLink, outcome: Outcome, *, count_failure: bool = True
    ) -> None:
        """One plan item applied (or not): the run's counters and its run item. A failure that
        stops the run (`count_failure` False) is the run's, not the item's."""
        status, error = outcome.status, outcome.error
        self.count("done")
        if status == RunItemStatus.OK:
            self.count(COUNTER_OF_ACTION[item.action])
        elif status == RunItemStatus.SKIPPED:
            self.count("skipped")
        elif count_failure:
            self.count("failed")
        self.pending_items.append(
            run_item(
                run=self.run, link=link, item=item, action=item.action, status=status, error=error
            )
        )

    def item_skipped_by_plan(self, item: PlanItem, link: ItemLink | None) -> None:
        """A plan item the rules flagged: never sent, counted skipped (not done)."""
        self.count("skipped")
        self.pending_items.append(
            run_item(
                run=self.run,
                link=link,
                item=item,
                action=item.action,
                status=RunItemStatus.SKIPPED,
                # Flag codes: the pages say them in the merchant's words (sync.reasons).
                error=", ".join(item.flags),
            )
        )

    def flush(self) -> None:
        if self.dirty_links:
            save_links(list(self.dirty_links.values()))
            self.dirty_links = {}
        if self.pending_items:
            SyncRunItem.objects.bulk_create(self.pending_items, batch_size=500)
            self.pending_items = []

    def save_counters(self, *, vk_requests: int, vk_rate_refusals: int = 0) -> None:
        self.run.vk_requests = vk_requests
        self.run.vk_rate_refusals = vk_rate_refusals
        figures = (*SyncRun.COUNTERS, "vk_requests", "vk_rate_refusals")
        SyncRun.objects.filter(pk=self.run.pk).update(
            **{name: getattr(self.run, name) for name in figures}
        )


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
