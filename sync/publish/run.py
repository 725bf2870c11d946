"""Executing a publishing run: lock, recover, plan, guard, execute, record, alert.

`sync_run_execute` is what the worker task and `manage.py sync_to_vk` call. The run rows'
lifecycle (create, finish, stale runs, alerts, enqueueing) lives in sync/runs.py.

A run never raises for VK or Evotor trouble: it ends `succeeded`, `partial` (some items failed,
they are retried next run), `failed` (VK down, limits that would not clear, a bug), `held`
(the removal guard: the merchant confirms) or `stopped` (token revoked, Market off, captcha,
Evotor token revoked), with `error` in the merchant's words and an alert where only the
merchant can fix it. What VK itself said stays on the run for staff (`SyncRun.vk_error`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from connections import vk_errors
from connections.evotor_client import EvotorAuthError
from connections.models import VkConnection
from sync.clients import evotor_client_for, usable_vk_connection, vk_client_for
from sync.lifecycle import (
    merchant_language,
    run_alert,
    run_finish,
    run_interrupt_stale,
    run_resolve_alerts,
    run_save,
)
from sync.locks import LockLost, SyncLockHandle, sync_lock_acquire
from sync.models import AlertCause, ItemLink, LinkState, RunStatus, RunTrigger, StopCause, SyncRun
from sync.plan.chunk_plan import evotor_lookups, plan_in_chunks, survey_catalog
from sync.plan.inputs import cached_vk_albums, cached_vk_items, sync_settings_get
from sync.plan.item_budget import ItemBudget
from sync.plan.photos import evotor_images_refresh
from sync.plan.plan import Plan
from sync.publish import chunked
from sync.publish.executor import Executor
from sync.publish.extra_photos import extra_photos_publish
from sync.publish.image_scan import evotor_images_scan
from sync.publish.records import COUNTER_OF_ACTION
from sync.publish.recovery import read_vk, resolve_creating_links, resolve_lost_answers
from sync.publish.stops import run_stopped
from sync.publish.transport import ExecuteTransport, NaiveTransport
from sync.publish.work import EvotorStopped, Stop
from sync.selectors import run_problem

logger = logging.getLogger(__name__)

Progress = Callable[[SyncRun], None]


@dataclass
class _Context:
    run: SyncRun
    user: object
    vk: VkConnection
    client: object
    evotor: object | None
    # The run's figures from its earlier chunks (sync/publish/chunked.py): this task's client
    # counts from zero.
    requests_before: int = 0
    refusals_before: int = 0
    vk_items_read: int | None = None  # items in VK when the plan read it (None: not read)

    def read_vk(self):
        return read_vk(self.client, self.vk.owner_id)


class WholeCatalog:
    """What a run plans: the whole catalog (the default). `plan` returns the plan and the links
    by product key; `went_through` is told when the run got past the guard and applied its
    plan (done, or done with problems). A scope with `whole` False (sync/publish/targeted.py)
    neither supersedes held runs nor re-reads the VK catalog afterwards."""

    whole = True

    def __init__(self):
        self.read_at = None

    def plan(self, ctx: _Context) -> tuple[Plan, dict[tuple[str, str], ItemLink]]:
        self.read_at = timezone.now()
        return _plan_run(ctx)

    def went_through(self, run: SyncRun) -> None:
        """The changes from Evotor this run read are published: their marks go."""
        from catalog.changes import dirty_products_clear_through

        if self.read_at is not None:
            dirty_products_clear_through(user=run.user, read_at=self.read_at)


def sync_run_execute(
    *,
    run: SyncRun,
    naive: bool = False,
    progress: Progress | None = None,
    scope=None,
    send_next: bool = True,
) -> SyncRun:
    """Execute a queued run (see the module docstring) over `scope` (default: the whole
    catalog, `WholeCatalog`). Safe to call twice: a run that is no longer queued is returned as
    it is.

    A whole run with more items than a chunk (sync/publish/chunked.py) applies one chunk and
    comes back queued again: its next task is queued here once the lock is free
    (`send_next`), or the caller goes on in process (`sync_run_execute_to_end`)."""
    run = _execute(run=run, naive=naive, progress=progress, scope=scope)
    if send_next and chunked.is_paused(run):
        chunked.send_next(run)
        run.refresh_from_db()  # the task may have run already (inline queues, tests)
    return run


def sync_run_execute_to_end(
    *, run: SyncRun, naive: bool = False, progress: Progress | None = None
) -> SyncRun:
    """Execute a queued whole run chunk after chunk in this process (`manage.py sync_to_vk`,
    the benchmarks): no task is queued between chunks."""
    run = sync_run_execute(run=run, naive=naive, progress=progress, send_next=False)
    while chunked.is_paused(run):
        run = sync_run_execute(run=run, naive=naive, progress=progress, send_next=False)
    return run


def _execute(*, run: SyncRun, naive: bool, progress: Progress | None, scope) -> SyncRun:
    run.refresh_from_db()
    if run.status != RunStatus.QUEUED:
        return run
    user = run.user
    with merchant_language():
        lock = sync_lock_acquire(user.pk)
        if lock is None:
            return run_finish(
                run,
                RunStatus.FAILED,
                error=_("Another sync of this shop was running; this one was not needed."),
            )
        try:
            return _execute_locked(
                run,
                user=user,
                lock=lock,
                naive=naive,
                progress=progress,
                scope=scope or WholeCatalog(),
            )
        finally:
            lock.release()


def _execute_locked(run: SyncRun, *, user, lock: SyncLockHandle, naive, progress, scope) -> SyncRun:
    run_interrupt_stale(user, keep=run)
    continuing = chunked.is_continuation(run)
    run.status = RunStatus.PLANNING
    if not continuing:  # a later chunk keeps the run's start
        run.started_at = timezone.now()
    run.finished_at = None
    run_save(run, "status", "started_at", "finished_at")
    if progress:
        progress(run)

    vk = usable_vk_connection(user)
    if vk is None:
        return run_finish(
            run,
            RunStatus.FAILED,
            error=_(
                "VK is not connected, or the connection needs attention: check it on the "
                "connections page."
            ),
        )
    ctx = _Context(
        run=run,
        user=user,
        vk=vk,
        client=vk_client_for(vk),
        evotor=evotor_client_for(user),
        requests_before=run.vk_requests if continuing else 0,
        refusals_before=run.vk_rate_refusals if continuing else 0,
    )
    transport = (NaiveTransport if naive else ExecuteTransport)(ctx.client)
    try:
        plan, links = scope.plan(ctx)
        _take_figures(run, ctx)
        if not continuing:  # the pages show the whole run's plan: the first chunk's
            run.plan_summary = plan.summary()
            chunked.remember_vk_read(run, ctx.vk_items_read)
        run.total = plan.total
        more = scope.whole and not run.dry_run and chunked.take_chunk(run, plan)
        run_save(run, "plan_summary", "total", "vk_requests", "vk_rate_refusals", "created")
        if run.dry_run:
            return run_finish(run, RunStatus.SUCCEEDED)
        if plan.guard_held:
            return _hold(run, plan)
        if scope.whole:
            _supersede_held_runs(user, keep=run)
        _drop_stale_links(user, plan)
        run.status = RunStatus.RUNNING
        run_save(run, "status")
        if progress:
            progress(run)

        def on_batch():
            lock.renew()
            _take_figures(run, ctx)
            if progress:
                progress(run)

        executor = Executor(
            run=run,
            plan=plan,
            links=links,
            transport=transport,
            group_id=int(vk.group_id),
            evotor_client=ctx.evotor,
            on_batch=on_batch,
            requests_before=ctx.requests_before,
            refusals_before=ctx.refusals_before,
        )
        try:
            executor.run()
        finally:
            _take_figures(run, ctx)
        if executor.unknown_creates:
            resolve_lost_answers(
                run=run,
                client=ctx.client,
                owner_id=vk.owner_id,
                links=[job.link for job in executor.unknown_creates],
            )
        extra_photos_publish(
            user=user,
            client=ctx.client,
            transport=transport,
            owner_id=vk.owner_id,
            group_id=int(vk.group_id),
            evotor=ctx.evotor,
        )
        _take_figures(run, ctx)
    except Stop as stop:
        _take_figures(run, ctx)
        return run_stopped(run, ctx, stop.error)
    except vk_errors.VkApiError as exc:
        _take_figures(run, ctx)
        return run_stopped(run, ctx, exc)
    except LockLost:
        return run_finish(run, RunStatus.FAILED, error=_("Another process took over this sync."))
    except Exception:
        logger.exception("sync run crashed", extra={"user_id": user.pk, "run_id": run.pk})
        _take_figures(run, ctx)
        run_finish(
            run,
            RunStatus.FAILED,
            error=_("Something went wrong on our side; we will look into it. Try again later."),
        )
        raise
    if more:
        chunked.pause(run)
        if progress:
            progress(run)
        return run
    return _completed(run, ctx, scope)


def _take_figures(run: SyncRun, ctx: _Context) -> None:
    """The client's request figures onto the run, after its earlier chunks' (saved with the
    run's next save)."""
    run.vk_requests = ctx.requests_before + ctx.client.requests_made
    run.vk_rate_refusals = ctx.refusals_before + ctx.client.rate_refusals


def _plan_run(ctx: _Context) -> tuple[Plan, dict[tuple[str, str], ItemLink]]:
    """Recover `creating` links, look at changed images, read what adoption needs, plan.
    Returns the plan and the links of its items by product key (the executor updates them).

    The plan is built in chunks within the run's budget (sync/plan/chunk_plan.py): a run
    applies one chunk of items per task (sync/publish/chunked.py), so it holds no more, and
    its memory does not grow with the catalog."""
    run, user = ctx.run, ctx.user
    evotor_images_scan(user=user, evotor=ctx.evotor)  # poll alone: no picture events
    survey = survey_catalog(user)
    creating = list(ItemLink.objects.filter(user=user, state=LinkState.CREATING))
    first_publish = survey.base.sync_settings.first_published_at is None
    unlinked = survey.unlinked
    vk_items = vk_albums = None
    if creating or (first_publish and unlinked and not chunked.vk_known_empty(run)):
        vk_items, vk_albums = ctx.read_vk()
        ctx.vk_items_read = len(vk_items)
    elif first_publish and unlinked:
        # A later chunk of a first publish into a community that had no item: whatever VK
        # holds now is ours and linked, so there is nothing to adopt and nothing to re-read.
        vk_items, vk_albums = [], []
    if creating:
        managed = {album.vk_album_id for album in survey.base.albums}
        resolve_creating_links(run=run, links=creating, vk_items=vk_items, managed_albums=managed)
        survey = survey_catalog(user)
    if ctx.evotor is not None:
        try:
            for part in evotor_lookups(survey):
                evotor_images_refresh(evotor=ctx.evotor, inputs=part)
        except EvotorAuthError as exc:
            raise Stop(EvotorStopped(str(exc))) from None
    if vk_items is None and unlinked:
        vk_items, vk_albums = cached_vk_items(user), cached_vk_albums(user)
    # Items found as they should be are stamped as the chunks go: the next plan skips them.
    return plan_in_chunks(
        survey,
        budget=ItemBudget() if run.dry_run else chunked.run_budget(run),
        vk_items=vk_items,
        vk_albums=vk_albums or [],
        confirmed_removals=run.confirmed_removals or None,
    )


def _drop_stale_links(user, plan: Plan) -> None:
    """Links with nothing in VK whose product is gone from the selection: nothing to hide or
    delete, so they are deleted (their run items keep the product's name)."""
    if plan.links_to_drop:
        ItemLink.objects.filter(
            user=user, pk__in=plan.links_to_drop, vk_item_id__isnull=True
        ).exclude(state=LinkState.CREATING).delete()


def _hold(run: SyncRun, plan: Plan) -> SyncRun:
    """The removal guard: the run waits for the merchant. An automatic run while an earlier
    one already waits does not pile up a second held run: it refreshes the waiting one."""
    message = _(
        "This run would hide or delete %(removals)s of your %(published)s published items "
        "(more than %(percent)s %%). It waits for you to confirm."
    ) % {"removals": plan.removals, "published": plan.published, "percent": plan.guard_percent}
    waiting = (
        SyncRun.objects.filter(user_id=run.user_id, status=RunStatus.HELD)
        .exclude(pk=run.pk)
        .order_by("-pk")
        .first()
    )
    automatic = run.trigger in (RunTrigger.SCHEDULE, RunTrigger.EVOTOR_CHANGE)
    if waiting is not None and automatic and not run.items.exists():
        SyncRun.objects.filter(pk=waiting.pk).update(
            plan_summary=run.plan_summary, total=run.total, error=message
        )
        run.delete()
        waiting.refresh_from_db()
        return waiting
    run_finish(run, RunStatus.HELD, error=message, stop_cause=StopCause.REMOVAL_GUARD)
    run_alert(run.user, AlertCause.REMOVAL_GUARD, message)
    return run


def _supersede_held_runs(user, *, keep: SyncRun) -> None:
    """A run that got past the guard replaces older held runs (nothing left to confirm)."""
    held = SyncRun.objects.filter(user=user, status=RunStatus.HELD).exclude(pk=keep.pk)
    if held.update(
        status=RunStatus.STOPPED,
        error=_("Not needed any more: a later run went through without mass removals."),
    ):
        run_resolve_alerts(user, AlertCause.REMOVAL_GUARD)


def _completed(run: SyncRun, ctx: _Context, scope) -> SyncRun:
    settings_obj = sync_settings_get(ctx.user)
    wrote = sum(getattr(run, counter) for counter in COUNTER_OF_ACTION.values())
    if settings_obj.first_published_at is None and (wrote or run.albums_created):
        settings_obj.first_published_at = timezone.now()
        settings_obj.save(update_fields=["first_published_at"])
    run_resolve_alerts(
        ctx.user, AlertCause.TOKEN_REVOKED, AlertCause.MARKET_OFF, AlertCause.CAPTCHA
    )
    # A run that left items out is not "done" (issue 12: 397 of 427 skipped read «Готово»);
    # the pages say why in one line with a link to fix it (sync.selectors.run_problem).
    if run.failed or run.skipped:
        with merchant_language():
            problem = run_problem(run)
        run_finish(run, RunStatus.PARTIAL, error=problem.text if problem else "")
    else:
        run_finish(run, RunStatus.SUCCEEDED)
    scope.went_through(run)
    if scope.whole and (wrote or run.albums_created):
        _refresh_vk_catalog_later(ctx.user)
    return run


def _refresh_vk_catalog_later(user) -> None:
    """The VK catalog pages show what VK now has: queue a re-read (a few requests)."""
    from vk_catalog.services import VkCatalogUnavailable, vk_catalog_enqueue_refresh

    try:
        vk_catalog_enqueue_refresh(user=user)
    except VkCatalogUnavailable:
        pass
    except Exception:
        logger.exception("queueing the VK catalog refresh failed", extra={"user_id": user.pk})
