"""A publishing run from start to end: lock, recover, plan, guard, publish, record, alert.

`sync_run_execute` is what the worker task and `manage.py sync_to_vk` call; the services the
pages call (`sync_run_preview`, `sync_run_start`, `sync_run_retry_failed`,
`sync_run_confirm_held`, `sync_run_cancel_held`) are re-exported by sync/services.py.

A run never raises for VK or Evotor trouble: it ends `succeeded`, `partial` (some items failed,
they are retried next run), `failed` (VK down, limits that would not clear, a bug), `held`
(the removal guard: the merchant confirms) or `stopped` (token revoked, Market off, captcha,
Evotor token revoked), with `error` in the merchant's words and an alert where only the
merchant can fix it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from connections import vk_errors
from connections.models import EvotorConnection, VkConnection
from sync import reasons
from sync.adoption import VkItemSnapshot, resolve_creating_links
from sync.inputs import (
    Inputs,
    cached_vk_albums,
    cached_vk_items,
    load_inputs,
    plan_from_inputs,
    sync_settings_get,
)
from sync.locks import LockLost, SyncLockHandle, sync_lock_acquire
from sync.models import (
    AlertCause,
    ItemLink,
    LinkState,
    RunAction,
    RunItemStatus,
    RunStatus,
    RunTrigger,
    StopCause,
    SyncRun,
    SyncRunItem,
)
from sync.photos import PREVIEW_LOOKUP_MAX, evotor_images_peek, evotor_images_refresh
from sync.planner import AlbumSnapshot, Plan
from sync.publisher import EvotorStopped, Publisher, Stop
from sync.transport import ExecuteTransport, NaiveTransport

logger = logging.getLogger(__name__)

Progress = Callable[[SyncRun], None]


def merchant_language():
    """The language of what a run stores for the merchant (run errors, alerts, their e-mails):
    the site's, Russian, whatever page or command started the run. Item reasons of our own are
    stored as codes and put into words by whoever shows them (sync.reasons)."""
    return translation.override(settings.LANGUAGE_CODE)


@dataclass
class _Context:
    run: SyncRun
    user: object
    vk: VkConnection
    client: object
    evotor: object | None


# --- connections ------------------------------------------------------------------------------
def _vk_connection(user) -> VkConnection | None:
    connection = VkConnection.objects.filter(user=user).first()
    return connection if connection is not None and connection.is_usable else None


def _evotor_client(user):
    """An Evotor client for product images, or None (then only uploaded photos are used)."""
    from connections.evotor_client import EvotorClient

    connection = EvotorConnection.objects.filter(user=user).first()
    if connection is None or not connection.is_usable:
        return None
    return EvotorClient(connection.cloud_token)


def _vk_client(connection: VkConnection):
    # Through the connection's service: a VK ID token is renewed before expiry and on VK's
    # "expired" answer.
    from connections.vk_services import vk_client_for

    return vk_client_for(connection)


# --- run rows ---------------------------------------------------------------------------------
def sync_run_create(
    *,
    user,
    trigger: str = RunTrigger.MANUAL,
    dry_run: bool = False,
    confirmed_removals: int = 0,
) -> SyncRun:
    """A queued run row (the worker or the command then executes it). `confirmed_removals`:
    how many hides and deletes the merchant already confirmed (the removal guard lets a plan
    removing no more through)."""
    return SyncRun.objects.create(
        user=user,
        trigger=trigger,
        dry_run=dry_run,
        confirmed_removals=max(0, int(confirmed_removals or 0)),
        status=RunStatus.QUEUED,
    )


def _save(run: SyncRun, *fields: str) -> None:
    SyncRun.objects.filter(pk=run.pk).update(**{name: getattr(run, name) for name in fields})


def _finish(run: SyncRun, status: str, *, error: str = "", stop_cause: str = "") -> SyncRun:
    run.status = status
    run.error = error
    run.stop_cause = stop_cause
    run.finished_at = timezone.now()
    _save(
        run,
        "status",
        "error",
        "stop_cause",
        "finished_at",
        "total",
        "done",
        "created",
        "updated",
        "hidden",
        "restored",
        "deleted",
        "adopted",
        "failed",
        "skipped",
        "albums_created",
        "vk_requests",
        "plan_summary",
        "started_at",
    )
    logger.info(
        "sync run finished",
        extra={
            "user_id": run.user_id,
            "run_id": run.pk,
            "status": status,
            "stop_cause": stop_cause,
            "items_created": run.created,
            "items_updated": run.updated,
            "items_hidden": run.hidden,
            "items_deleted": run.deleted,
            "items_failed": run.failed,
            "items_skipped": run.skipped,
            "vk_requests": run.vk_requests,
        },
    )
    return run


def interrupted_message() -> str:
    return _(
        "The run was interrupted (the worker stopped). The next run carried on where it "
        "left off; nothing was published twice."
    )


def _interrupt_stale_runs(user, *, keep: SyncRun) -> None:
    """Runs left `planning`/`running` by a worker that died: we hold the lock, so they are dead."""
    SyncRun.objects.filter(user=user, status__in=(RunStatus.PLANNING, RunStatus.RUNNING)).exclude(
        pk=keep.pk
    ).update(status=RunStatus.FAILED, finished_at=timezone.now(), error=interrupted_message())


# --- alerts -----------------------------------------------------------------------------------
def _alert(user, cause: str, message: str) -> None:
    try:
        from sync.alerts import alert_raise
    except ImportError:  # the pages' half is not installed: the run row still says why
        return
    try:
        alert_raise(user=user, cause=cause, message=message)
    except Exception:
        logger.exception("raising an alert failed", extra={"user_id": user.pk, "cause": cause})


def _resolve_alerts(user, *causes: str) -> None:
    try:
        from sync.alerts import alert_resolve
    except ImportError:
        return
    for cause in causes:
        alert_resolve(user=user, cause=cause)


def _mark_vk_broken(connection: VkConnection, message: str) -> None:
    try:
        from connections.vk_services import vk_connection_mark_broken
    except ImportError:
        return
    vk_connection_mark_broken(connection, message)


def _mark_evotor_broken(user, message: str) -> None:
    from connections.evotor_services import evotor_connection_mark_broken

    connection = EvotorConnection.objects.filter(user=user).first()
    if connection is not None:
        evotor_connection_mark_broken(connection, message)


# --- reading VK for recovery and adoption -----------------------------------------------------
def _read_vk(ctx: _Context) -> tuple[list[VkItemSnapshot], list[AlbumSnapshot]]:
    owner_id = ctx.vk.owner_id
    albums = [AlbumSnapshot(a.id, a.title) for a in ctx.client.iter_albums(owner_id)]
    items = [VkItemSnapshot.from_vk(item) for item in ctx.client.iter_items(owner_id)]
    return items, albums


def _lookup_changed_images(ctx: _Context, inputs: Inputs) -> None:
    from connections.evotor_client import EvotorAuthError

    if ctx.evotor is None:
        return
    try:
        evotor_images_refresh(evotor=ctx.evotor, inputs=inputs)
    except EvotorAuthError as exc:
        raise Stop(EvotorStopped(str(exc))) from None


# --- the run ----------------------------------------------------------------------------------
def sync_run_execute(
    *, run: SyncRun, naive: bool = False, progress: Progress | None = None
) -> SyncRun:
    """Execute a queued run (see the module docstring). Safe to call twice: a run that is no
    longer queued is returned as it is."""
    run.refresh_from_db()
    if run.status != RunStatus.QUEUED:
        return run
    user = run.user
    with merchant_language():
        lock = sync_lock_acquire(user.pk)
        if lock is None:
            return _finish(
                run,
                RunStatus.FAILED,
                error=_("Another sync of this shop was running; this one was not needed."),
            )
        try:
            return _execute_locked(run, user=user, lock=lock, naive=naive, progress=progress)
        finally:
            lock.release()


def _execute_locked(run: SyncRun, *, user, lock: SyncLockHandle, naive, progress) -> SyncRun:
    _interrupt_stale_runs(user, keep=run)
    run.status = RunStatus.PLANNING
    run.started_at = timezone.now()
    run.finished_at = None
    _save(run, "status", "started_at", "finished_at")
    if progress:
        progress(run)

    vk = _vk_connection(user)
    if vk is None:
        return _finish(
            run,
            RunStatus.FAILED,
            error=_(
                "VK is not connected, or the connection needs attention: check it on the "
                "connections page."
            ),
        )
    ctx = _Context(run=run, user=user, vk=vk, client=_vk_client(vk), evotor=_evotor_client(user))
    transport = (NaiveTransport if naive else ExecuteTransport)(ctx.client)
    try:
        plan, inputs = _plan_run(ctx)
        run.vk_requests = ctx.client.requests_made
        run.plan_summary = plan.summary()
        run.total = plan.total
        _save(run, "plan_summary", "total", "vk_requests", "created")
        if run.dry_run:
            return _finish(run, RunStatus.SUCCEEDED)
        if plan.guard_held:
            return _hold(run, plan)
        _supersede_held_runs(user, keep=run)
        run.status = RunStatus.RUNNING
        _save(run, "status")
        if progress:
            progress(run)

        def on_batch():
            lock.renew()
            run.vk_requests = ctx.client.requests_made
            if progress:
                progress(run)

        publisher = Publisher(
            run=run,
            plan=plan,
            links=inputs.links,
            transport=transport,
            group_id=int(vk.group_id),
            evotor_client=ctx.evotor,
            on_batch=on_batch,
        )
        try:
            publisher.run()
        finally:
            run.vk_requests = ctx.client.requests_made
        if publisher.unknown_creates:
            _resolve_lost_answers(ctx, [job.link for job in publisher.unknown_creates])
        run.vk_requests = ctx.client.requests_made
    except Stop as stop:
        run.vk_requests = ctx.client.requests_made
        return _stopped(run, ctx, stop.error)
    except vk_errors.VkApiError as exc:
        run.vk_requests = ctx.client.requests_made
        return _stopped(run, ctx, exc)
    except LockLost:
        return _finish(run, RunStatus.FAILED, error=_("Another process took over this sync."))
    except Exception:
        logger.exception("sync run crashed", extra={"user_id": user.pk, "run_id": run.pk})
        run.vk_requests = ctx.client.requests_made
        _finish(
            run,
            RunStatus.FAILED,
            error=_("Something went wrong on our side; we will look into it. Try again later."),
        )
        raise
    return _completed(run, ctx)


def _plan_run(ctx: _Context) -> tuple[Plan, Inputs]:
    """Recover `creating` links, look at changed images, read what adoption needs, plan."""
    run, user = ctx.run, ctx.user
    inputs = load_inputs(user)
    creating = [link for link in inputs.links.values() if link.state == LinkState.CREATING]
    first_publish = inputs.sync_settings.first_published_at is None
    unlinked = any(
        (link := inputs.links.get((p.store_id, p.product_id))) is None or link.vk_item_id is None
        for p in inputs.products
    )
    vk_items = vk_albums = None
    if creating or (first_publish and unlinked):
        vk_items, vk_albums = _read_vk(ctx)
    if creating:
        managed = {album.vk_album_id for album in inputs.albums}
        resolve_creating_links(run=run, links=creating, vk_items=vk_items, managed_albums=managed)
        inputs = load_inputs(user)
    _lookup_changed_images(ctx, inputs)
    if vk_items is None and unlinked:
        vk_items, vk_albums = cached_vk_items(user), cached_vk_albums(user)
    confirmed = run.confirmed_removals or None
    plan = plan_from_inputs(
        inputs, vk_items=vk_items, vk_albums=vk_albums or [], confirmed_removals=confirmed
    )
    return plan, inputs


def _resolve_lost_answers(ctx: _Context, links: list[ItemLink]) -> None:
    """market.add answers lost during this run: look the skus up in VK now, if VK answers.

    Found: the item is linked (counted created). Not found: VK did not make it; it is created
    on the next run. VK still silent: the links stay `creating` for the next run to resolve.
    """
    from sync.models import AlbumLink

    run = ctx.run
    pks = [link.pk for link in links]
    try:
        vk_items, _albums = _read_vk(ctx)
    except vk_errors.VkApiError:
        vk_items = None
    fresh = list(ItemLink.objects.filter(pk__in=pks, state=LinkState.CREATING))
    found = 0
    if vk_items is not None:
        managed = set(AlbumLink.objects.filter(user=ctx.user).values_list("vk_album_id", flat=True))
        found, _missing = resolve_creating_links(
            run=run, links=fresh, vk_items=vk_items, managed_albums=managed
        )
    unresolved = [
        link
        for link in fresh
        if link.state != LinkState.PUBLISHED and link.state != LinkState.HIDDEN
    ]
    message = (
        reasons.ANSWER_LOST_NOT_CREATED if vk_items is not None else reasons.ANSWER_LOST_UNKNOWN
    )
    SyncRunItem.objects.bulk_create(
        SyncRunItem(
            run=run,
            link=link,
            store_id=link.store_id,
            product_id=link.product_id,
            product_name=link.product_name,
            action=RunAction.CREATE,
            status=RunItemStatus.FAILED,
            error=message,
        )
        for link in unresolved
    )
    run.failed += len(unresolved)
    run.done += found + len(unresolved)


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
    _finish(run, RunStatus.HELD, error=message, stop_cause=StopCause.REMOVAL_GUARD)
    _alert(run.user, AlertCause.REMOVAL_GUARD, message)
    return run


def _supersede_held_runs(user, *, keep: SyncRun) -> None:
    """A run that got past the guard replaces older held runs (nothing left to confirm)."""
    held = SyncRun.objects.filter(user=user, status=RunStatus.HELD).exclude(pk=keep.pk)
    if held.update(
        status=RunStatus.STOPPED,
        error=_("Not needed any more: a later run went through without mass removals."),
    ):
        _resolve_alerts(user, AlertCause.REMOVAL_GUARD)


STOP_CAUSE_OF = (
    (vk_errors.VkAuthError, StopCause.TOKEN_REVOKED, AlertCause.TOKEN_REVOKED),
    (vk_errors.VkPermissionError, StopCause.TOKEN_REVOKED, AlertCause.TOKEN_REVOKED),
    (vk_errors.VkMarketDisabledError, StopCause.MARKET_OFF, AlertCause.MARKET_OFF),
    (vk_errors.VkCaptchaError, StopCause.CAPTCHA, AlertCause.CAPTCHA),
)


def _stopped(run: SyncRun, ctx: _Context, error: Exception) -> SyncRun:
    """The run ended early: why, in the merchant's words, and an alert where they must act."""
    if isinstance(error, EvotorStopped):
        message = _(
            "Evotor no longer accepts the token, so product photos could not be read. "
            "Reconnect Evotor, then publish again."
        )
        _mark_evotor_broken(ctx.user, message)
        _alert(ctx.user, AlertCause.EVOTOR_TOKEN_REVOKED, message)
        return _finish(run, RunStatus.STOPPED, error=message, stop_cause=StopCause.EVOTOR_BROKEN)
    if isinstance(error, vk_errors.VkApiError):
        message = error.user_message
    else:  # not expected: Stop carries VK's or Evotor's errors only
        logger.error("sync run stopped by %s", type(error).__name__, extra={"run_id": run.pk})
        message = _("Something went wrong on our side; we will look into it. Try again later.")
    for error_class, stop_cause, alert_cause in STOP_CAUSE_OF:
        if isinstance(error, error_class):
            if stop_cause == StopCause.TOKEN_REVOKED:
                _mark_vk_broken(ctx.vk, message)
            _alert(ctx.user, alert_cause, message)
            return _finish(run, RunStatus.STOPPED, error=message, stop_cause=stop_cause)
    # Limits that would not clear, VK down, our own bug in a script: try again next time.
    return _finish(run, RunStatus.FAILED, error=message)


def _completed(run: SyncRun, ctx: _Context) -> SyncRun:
    settings_obj = sync_settings_get(ctx.user)
    wrote = run.created + run.updated + run.hidden + run.restored + run.deleted + run.adopted
    if settings_obj.first_published_at is None and (wrote or run.albums_created):
        settings_obj.first_published_at = timezone.now()
        settings_obj.save(update_fields=["first_published_at"])
    _resolve_alerts(ctx.user, AlertCause.TOKEN_REVOKED, AlertCause.MARKET_OFF, AlertCause.CAPTCHA)
    if run.failed:
        error = _(
            "%(count)s items were not accepted by VK; their reasons are listed below. They will "
            "be tried again on the next run."
        ) % {"count": run.failed}
        _finish(run, RunStatus.PARTIAL, error=error)
    else:
        _finish(run, RunStatus.SUCCEEDED)
    if wrote or run.albums_created:
        _refresh_vk_catalog_later(ctx.user)
    return run


def _refresh_vk_catalog_later(user) -> None:
    """The VK catalog pages show what VK now has: queue a re-read (a few requests)."""
    try:
        from vk_catalog.services import VkCatalogUnavailable, vk_catalog_enqueue_refresh
    except ImportError:
        return
    try:
        vk_catalog_enqueue_refresh(user=user)
    except VkCatalogUnavailable:
        pass
    except Exception:
        logger.exception("queueing the VK catalog refresh failed", extra={"user_id": user.pk})


# --- what the pages call ----------------------------------------------------------------------
VK_CACHE_FRESH_SECONDS = 600


def _refresh_vk_cache_if_stale(user) -> None:
    """Before a first publish, the preview shows what it would adopt: that needs a VK catalog
    cache read in the last few minutes (a refresh reads, never writes, VK)."""
    from datetime import timedelta

    try:
        from vk_catalog.models import RefreshStatus, VkCatalogRefresh
        from vk_catalog.services import VkCatalogUnavailable, vk_catalog_refresh_for_user
    except ImportError:
        return
    cutoff = timezone.now() - timedelta(seconds=VK_CACHE_FRESH_SECONDS)
    fresh = VkCatalogRefresh.objects.filter(
        user=user, status=RefreshStatus.OK, finished_at__gte=cutoff
    ).exists()
    if fresh:
        return
    try:
        vk_catalog_refresh_for_user(user=user)
    except VkCatalogUnavailable:
        pass
    except Exception:
        logger.exception(
            "refreshing the VK catalog for a preview failed", extra={"user_id": user.pk}
        )


def _peek_evotor_images(user, inputs: Inputs) -> None:
    """New items whose only possible photo is Evotor's: read Evotor's image list for them now,
    so the preview says which will be published and which skipped for want of a photo.

    Only when there are at most PREVIEW_LOOKUP_MAX of them (a few seconds' work at most, in a
    thread pool); with more, or where Evotor does not answer, the preview says "checked at
    publish" instead. Nothing is stored: the run reads the list again when it publishes.
    """
    wanted = [p for p in inputs.products if inputs.photo_depends_on_evotor(p)]
    if not wanted or len(wanted) > PREVIEW_LOOKUP_MAX:
        return
    evotor = _evotor_client(user)
    if evotor is None:
        return
    inputs.evotor_seen.update(evotor_images_peek(evotor=evotor, products=wanted))


def sync_run_preview(*, user) -> Plan:
    """The plan of the next run: no VK write, nothing written here.

    Built from the cached catalogs; before the first publish the VK catalog cache is refreshed
    first when it is older than a few minutes, so the adoptions shown are VK's current items.
    For new items with no photo but Evotor's, Evotor's image list is read (a bounded number,
    see `_peek_evotor_images`); the rest are `Plan.photo_unchecked`.
    """
    inputs = load_inputs(user)
    unlinked = any(
        (link := inputs.links.get((p.store_id, p.product_id))) is None or link.vk_item_id is None
        for p in inputs.products
    )
    if unlinked and inputs.sync_settings.first_published_at is None:
        _refresh_vk_cache_if_stale(user)
    if unlinked:
        _peek_evotor_images(user, inputs)
    vk_items = cached_vk_items(user) if unlinked else None
    vk_albums = cached_vk_albums(user) if unlinked else []
    return plan_from_inputs(inputs, vk_items=vk_items, vk_albums=vk_albums)


def _enqueue(run: SyncRun) -> None:
    from django_q.tasks import async_task

    def send():
        async_task(
            "sync.tasks.sync_user",
            run.user_id,
            run.trigger,
            run.pk,
            task_name=f"sync_to_vk:{run.user_id}:{run.pk}",
            group="sync_to_vk",
        )

    transaction.on_commit(send)


def users_to_sync() -> list[int]:
    """Merchants the schedule publishes for: active, VK usable, first publish done, automatic
    publishing on (the token is encrypted, so it is checked in Python)."""
    from connections.models import ConnectionState
    from sync.models import SyncSettings

    user_ids = set(
        SyncSettings.objects.filter(
            auto_sync=True, first_published_at__isnull=False, user__is_active=True
        ).values_list("user_id", flat=True)
    )
    connections = VkConnection.objects.filter(
        user_id__in=user_ids, state=ConnectionState.OK, group_id__isnull=False
    )
    return sorted(c.user_id for c in connections if c.access_token)


def active_run(user) -> SyncRun | None:
    """The merchant's queued or running run, if one is really alive.

    A run shown running whose lock nobody holds belongs to a worker that died; a run queued for
    longer than the queue's redelivery delay was lost with its task. Both are closed here, so a
    lost task never blocks "Sync now" for good.
    """
    from datetime import timedelta

    from sync.locks import sync_lock_held

    run = (
        SyncRun.objects.filter(user=user, status__in=SyncRun.ACTIVE_STATUSES)
        .order_by("-created_at", "-pk")
        .first()
    )
    if run is None:
        return None
    now = timezone.now()
    if run.status != RunStatus.QUEUED and not sync_lock_held(run.user_id):
        with merchant_language():
            error = interrupted_message()
        SyncRun.objects.filter(pk=run.pk, status=run.status).update(
            status=RunStatus.FAILED, finished_at=now, error=error
        )
        return None
    redelivery = int(getattr(settings, "Q_CLUSTER", {}).get("retry", 2400))
    if run.status == RunStatus.QUEUED and run.created_at < now - timedelta(seconds=redelivery):
        with merchant_language():
            error = _("The run was queued but never started; start a new one.")
        SyncRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.FAILED, finished_at=now, error=error
        )
        return None
    return run


@transaction.atomic
def sync_run_start(*, user, trigger: str = RunTrigger.MANUAL, confirm_removals: int = 0) -> SyncRun:
    """Queue a run for the merchant (the worker picks it up after commit). A run already queued
    or in progress is returned instead of a second one.

    `confirm_removals`: the number of hides and deletes the merchant confirmed on the preview
    (the count it showed). The removal guard lets the run through if its plan removes no more;
    one that now removes more is held and asks again.
    """
    if isinstance(confirm_removals, bool):
        raise TypeError("confirm_removals is the number of removals confirmed, not a flag.")
    existing = active_run(user)
    if existing is not None:
        return existing
    run = sync_run_create(user=user, trigger=trigger, confirmed_removals=confirm_removals)
    _enqueue(run)
    return run


@transaction.atomic
def sync_run_confirm_held(*, run: SyncRun) -> SyncRun:
    """The merchant confirmed a run the removal guard held: queue it again, allowed to remove
    as many items as it was held for (a plan removing more is held again)."""
    run = SyncRun.objects.select_for_update().get(pk=run.pk)
    if run.status != RunStatus.HELD:
        return run
    held_for = int((run.plan_summary or {}).get("removals") or 0)
    run.status = RunStatus.QUEUED
    run.confirmed_removals = max(run.confirmed_removals, held_for)
    run.error = ""
    run.stop_cause = ""
    run.finished_at = None
    run.save(update_fields=["status", "confirmed_removals", "error", "stop_cause", "finished_at"])
    _resolve_alerts(run.user, AlertCause.REMOVAL_GUARD)
    _enqueue(run)
    return run


@transaction.atomic
def sync_run_cancel_held(*, run: SyncRun) -> SyncRun:
    """The merchant refused a held run: it ends without applying anything (nothing hidden or
    deleted) and, when no other run waits, the alert goes. The guard asks again if the next
    plan still removes as much."""
    run = SyncRun.objects.select_for_update().get(pk=run.pk)
    if run.status != RunStatus.HELD:
        return run
    run.status = RunStatus.STOPPED
    run.stop_cause = StopCause.REMOVAL_GUARD
    with merchant_language():
        run.error = _("Cancelled by you: nothing was hidden or deleted.")
    run.finished_at = run.finished_at or timezone.now()
    run.save(update_fields=["status", "stop_cause", "error", "finished_at"])
    if not SyncRun.objects.filter(user_id=run.user_id, status=RunStatus.HELD).exists():
        _resolve_alerts(run.user, AlertCause.REMOVAL_GUARD)
    return run


@transaction.atomic
def sync_run_retry_failed(*, run: SyncRun) -> SyncRun:
    """ "Retry failed": a new run (trigger retry). Failed items are always retried by any run;
    this one just comes now instead of at the next schedule."""
    existing = active_run(run.user)
    if existing is not None:
        return existing
    new = sync_run_create(user=run.user, trigger=RunTrigger.RETRY)
    _enqueue(new)
    return new
