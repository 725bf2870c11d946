"""Reads for the publishing pages. Every merchant-facing query is restricted to the merchant:
another merchant's run, photo or product is a 404, never a 403 that confirms it exists."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from sync.models import (
    Alert,
    RunItemStatus,
    RunStatus,
    SyncRun,
    SyncRunItem,
    SyncSettings,
)

logger = logging.getLogger(__name__)

SYNC_SCHEDULE_NAME = "sync_to_vk"


# --- settings -------------------------------------------------------------------------------------
def sync_settings_read(user) -> SyncSettings:
    """The merchant's settings, or unsaved defaults when they never saved any (no write)."""
    found = SyncSettings.objects.filter(user=user).first()
    return found if found is not None else SyncSettings(user=user)


def first_publish_done(user) -> bool:
    return SyncSettings.objects.filter(user=user, first_published_at__isnull=False).exists()


# --- runs -----------------------------------------------------------------------------------------
def anything_sent(user) -> bool:
    """Whether anything of the merchant's is in VK through EvoSync (an item or an album)."""
    from sync.models import AlbumLink, ItemLink

    return (
        ItemLink.objects.filter(user=user, vk_item_id__isnull=False).exists()
        or AlbumLink.objects.filter(user=user).exists()
    )


def runs_of(user) -> QuerySet[SyncRun]:
    """The merchant's runs, newest first (previews are not runs the merchant started)."""
    return SyncRun.objects.filter(user=user, dry_run=False).order_by("-created_at", "-id")


def run_get(*, user, pk: int) -> SyncRun:
    """One of the merchant's runs; 404 for anybody else's."""
    return get_object_or_404(SyncRun.objects.filter(user=user), pk=pk)


def run_last(user) -> SyncRun | None:
    return runs_of(user).first()


def run_last_finished(user) -> SyncRun | None:
    return runs_of(user).filter(finished_at__isnull=False).first()


def run_marked_active(user) -> SyncRun | None:
    """The run whose row says queued or in progress, if any: a read for pages. Whether it is
    really alive (and closing it if not) is `sync.lifecycle.sync_run_live_or_close_dead`'s,
    called where a run may start."""
    return runs_of(user).filter(status__in=SyncRun.ACTIVE_STATUSES).first()


def run_held(user) -> SyncRun | None:
    return runs_of(user).filter(status=RunStatus.HELD).first()


def run_items(run: SyncRun, *, status: str | None = None) -> QuerySet[SyncRunItem]:
    items = run.items.all().order_by("id")
    if status:
        items = items.filter(status=status)
    return items


@dataclass(frozen=True)
class RunProblem:
    """Why a run is "done with problems", in one line, and where to fix it."""

    text: str
    fix_url: str = ""
    fix_label: str = ""


def run_problem(run: SyncRun) -> RunProblem | None:
    """The main reason items of a finished run were skipped or failed (None: nothing was).

    Skipped items say why through their reason codes (sync.reasons): a missing category or
    missing photos point to the settings, where one choice fixes them all; other skips and
    VK's refusals point to the run's item list.
    """
    from django.urls import reverse
    from django.utils.translation import ngettext

    from sync import reasons
    from sync.plan.rules import FLAG_NO_CATEGORY

    if not (run.skipped or run.failed):
        return None
    codes: dict[str, int] = {}
    skipped = SyncRunItem.objects.filter(run=run, status=RunItemStatus.SKIPPED)
    for error in skipped.values_list("error", flat=True):
        for code in {c.strip() for c in (error or "").split(",") if c.strip()}:
            codes[code] = codes.get(code, 0) + 1
    settings_url = reverse("sync:settings")
    items_url = reverse("sync:run_detail", args=[run.pk]) + "?status=%s#items"
    if codes.get(FLAG_NO_CATEGORY):
        count = codes[FLAG_NO_CATEGORY]
        return RunProblem(
            ngettext(
                "%(count)d item was skipped: no VK category is chosen.",
                "%(count)d items were skipped: no VK category is chosen.",
                count,
            )
            % {"count": count},
            settings_url,
            _("Choose a category"),
        )
    photo = sum(n for code, n in codes.items() if code in reasons.PHOTO_PROBLEMS)
    if photo:
        return RunProblem(
            ngettext(
                "%(count)d item was skipped: it has no photo.",
                "%(count)d items were skipped: they have no photo.",
                photo,
            )
            % {"count": photo},
            settings_url + "#id_default_photo",
            _("Upload a default photo"),
        )
    if run.skipped:
        return RunProblem(
            ngettext(
                "%(count)d item was skipped: VK would refuse it as it is.",
                "%(count)d items were skipped: VK would refuse them as they are.",
                run.skipped,
            )
            % {"count": run.skipped},
            items_url % RunItemStatus.SKIPPED,
            _("See why"),
        )
    return RunProblem(
        ngettext(
            "%(count)d item was not accepted by VK; it is tried again on the next run.",
            "%(count)d items were not accepted by VK; they are tried again on the next run.",
            run.failed,
        )
        % {"count": run.failed},
        items_url % RunItemStatus.FAILED,
        _("See why"),
    )


def run_failed_items(run: SyncRun) -> QuerySet[SyncRunItem]:
    return run_items(run, status=RunItemStatus.FAILED)


# --- alerts ---------------------------------------------------------------------------------------
def alerts_active(user) -> QuerySet[Alert]:
    return Alert.objects.filter(user=user, resolved_at__isnull=True).order_by("created_at")


@dataclass(frozen=True)
class AlertBanner:
    alert: Alert
    advice: str
    fix_label: str
    fix_url: str


def alert_banners(user) -> list[AlertBanner]:
    """The merchant's active alerts with what to do about each (one banner per alert)."""
    from sync.alerts import alert_fix_url, alert_help

    banners = []
    for alert in alerts_active(user).select_related("user"):
        help_ = alert_help(alert)
        banners.append(
            AlertBanner(
                alert=alert,
                advice=str(help_.advice) if help_ else "",
                fix_label=str(help_.fix_label) if help_ else "",
                fix_url=alert_fix_url(alert),
            )
        )
    return banners


# --- the dashboard --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConnectionStatus:
    """One vendor connection as the dashboard shows it."""

    vendor: str
    connected: bool
    ok: bool
    name: str
    error: str
    fix_url_name: str


def connection_statuses(user) -> list[ConnectionStatus]:
    """Evotor and VK: connected or not, working or broken (with the reason), and where to fix."""
    from connections.models import ConnectionState, EvotorConnection, VkConnection

    evotor = EvotorConnection.objects.filter(user=user).first()
    vk = VkConnection.objects.filter(user=user).first()
    evotor_connected = bool(evotor and evotor.cloud_token)
    vk_connected = bool(vk and vk.access_token and vk.group_id)
    return [
        ConnectionStatus(
            vendor="evotor",
            connected=evotor_connected,
            ok=evotor_connected and evotor.state == ConnectionState.OK,
            name="",
            error=(evotor.last_error if evotor else "") or "",
            fix_url_name="connections:evotor",
        ),
        ConnectionStatus(
            vendor="vk",
            connected=vk_connected,
            ok=vk_connected and vk.state == ConnectionState.OK,
            name=(vk.group_name or (f"club{vk.group_id}" if vk.group_id else "")) if vk else "",
            error=(vk.last_error if vk else "") or "",
            fix_url_name="connections:vk",
        ),
    ]


def schedule_next_run() -> datetime | None:
    """When the periodic publishing (`sync_to_vk`) runs next, if it is scheduled at all."""
    from django_q.models import Schedule

    schedule = Schedule.objects.filter(name=SYNC_SCHEDULE_NAME).only("next_run", "repeats").first()
    if schedule is None or schedule.repeats == 0:
        return None
    return schedule.next_run
