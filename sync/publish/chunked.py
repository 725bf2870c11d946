"""A long whole run in chunks (issue 10 item 3): each task applies at most
`SYNC_RUN_CHUNK_ITEMS` items of the plan, commits them, and queues the same run again on the
slow lane; the next task plans afresh and goes on with what is left.

Why this is safe: a run's progress lives in the database, not in the task. Each item a chunk
applies is written on its link (and its run item) as the answers come; a new plan finds those
items done and plans only the rest, the `creating` links of an answer that never came are
looked up in VK by sku before anything else (sync/publish/recovery.py), and a first publish
reads VK again for adoption. So a worker that stops between chunks loses nothing: the queued
run's task is in the broker, and a task the broker lost is sent again
(`evosync.runs.run_close_if_dead`). A worker killed inside a chunk leaves the run interrupted,
and the next run carries on from the links, as for any run.

The merchant sees one run: queued again between chunks, its counters adding up, its `total`
the items applied so far plus those the new plan still has, its plan summary the first
chunk's, with `chunks` telling how many tasks it took.
"""

from __future__ import annotations

from django.conf import settings

from sync.models import RunItemStatus, RunStatus, SyncRun
from sync.plan.item_budget import ItemBudget
from sync.plan.plan import Plan
from sync.plan.variants import VariantPlan

DEFAULT_CHUNK_ITEMS = 10_000


def chunk_items() -> int:
    """Items one task applies at most. VK takes 3 requests a second, and a first publish sends
    about 20 items a request, so 10,000 items are about 170 s of requests, far below
    `Q_TIMEOUT` (1800 s) even with the photos' preparation and a busy lane."""
    return max(1, int(getattr(settings, "SYNC_RUN_CHUNK_ITEMS", DEFAULT_CHUNK_ITEMS)))


def chunks_done(run: SyncRun) -> int:
    return int((run.plan_summary or {}).get("chunks", 0))


def is_continuation(run: SyncRun) -> bool:
    """The run already applied a chunk and is queued (or executing) again for the rest."""
    return chunks_done(run) > 0


def is_paused(run: SyncRun) -> bool:
    """The run stopped after a chunk and waits, queued, for its next task."""
    return run.status == RunStatus.QUEUED and is_continuation(run)


def remember_vk_read(run: SyncRun, items: int | None) -> None:
    """How many items VK had when the first chunk read it (a first publish reads VK to adopt)."""
    if items is not None:
        run.plan_summary["vk_items_before"] = items


def vk_known_empty(run: SyncRun) -> bool:
    """A later chunk of a run whose first chunk found the community empty: every item in VK is
    one this run made (linked, or `creating` and then looked up), so a first publish of a big
    catalog does not read VK's growing catalog again for each chunk."""
    return is_continuation(run) and (run.plan_summary or {}).get("vk_items_before") == 0


def _left_out_earlier(run: SyncRun) -> set[tuple[str, str]]:
    """Products an earlier chunk of this run failed or skipped: retried by the next run, not
    again by this one (its counters would count them twice)."""
    return set(run.items.exclude(status=RunItemStatus.OK).values_list("store_id", "product_id"))


def run_budget(run: SyncRun) -> ItemBudget:
    """What the run's plan holds (sync/plan/item_budget.py): this chunk's items to apply, and
    the skipped items the first chunk records; what an earlier chunk recorded is left out."""
    if not is_continuation(run):
        return ItemBudget(chunk_items())
    return ItemBudget(chunk_items(), keep_skipped=False, left_out=_left_out_earlier(run))


def take_chunk(run: SyncRun, plan: Plan) -> bool:
    """Cut `plan` down to this task's chunk, and set the run's `total`. Returns whether work is
    left for another chunk.

    A continuation drops what an earlier chunk already recorded: the items the rules flagged
    (counted skipped once) and the products that failed. Albums are made by the first chunk
    (all of them: later items need them); variant groups are made by the last chunk, once
    every member item exists.
    """
    continuing = is_continuation(run)
    items = plan.items
    if continuing:
        earlier = _left_out_earlier(run)
        items = [item for item in items if not item.skipped and item.key not in earlier]
    to_apply = [item for item in items if not item.skipped]
    # A plan built within the run's budget (`run_budget`) counted the items it did not hold.
    planned = len(to_apply) + plan.not_held_to_apply
    run.total = (run.done if continuing else 0) + planned
    limit = chunk_items()
    if planned <= limit:
        plan.items = items
        return False
    chunk = {id(item) for item in to_apply[:limit]}
    plan.items = [item for item in items if item.skipped or id(item) in chunk]
    plan.variants = VariantPlan()
    return True


def pause(run: SyncRun) -> SyncRun:
    """The chunk is applied: the run waits, queued, for the task that goes on with it."""
    from sync.lifecycle import run_save

    run.status = RunStatus.QUEUED
    run.plan_summary = {**(run.plan_summary or {}), "chunks": chunks_done(run) + 1}
    run_save(run, "status", "total", *SyncRun.COUNTERS, "vk_requests", "vk_rate_refusals")
    run_save(run, "plan_summary")
    return run


def send_next(run: SyncRun) -> None:
    """Queue the paused run's next task (the slow lane: `SyncRun.task_variant`)."""
    from evosync.runs import run_enqueue

    run_enqueue(run)
