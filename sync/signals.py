"""Automation hooks, connected in `SyncConfig.ready`.

- After each Evotor refresh, publish the changes (docs/contracts/product.md: "a change at the till reaches VK
  within the sync interval, sooner where Evotor notifies us"). The periodic `sync_to_vk`
  schedule still reconciles everything; this only makes a change at the till reach VK right
  after the refresh that saw it.
- Alerts for what breaks outside publishing: a connection marked broken (a revoked Evotor or VK
  token found by a catalog refresh or a connection test) raises the matching alert, a connection
  that works again resolves it; VK's "Market is off" seen by a VK catalog refresh raises
  `market_off`, and a refresh that reads the Market resolves it.
- After a VK catalog read, the edits the merchant made in VK are recorded on the links
  (sync/vk_edits.py), for field ownership (sync/plan/ownership.py). The lower apps only send
  signals (`connections.signals`, `vk_catalog.signals`) and never import this app.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import receiver

from catalog.signals import catalog_changed, catalog_refreshed
from connections import signals as connection_signals
from connections.vk_errors import MARKET_OFF_CODES
from sync.models import AlertCause, RunTrigger
from vk_catalog.models import RefreshStatus as VkRefreshStatus
from vk_catalog.signals import vk_catalog_refresh_finished

logger = logging.getLogger(__name__)


def _changed(result) -> bool:
    """Whether the refresh saw anything new, changed or removed (else there is nothing to send)."""
    return any(
        getattr(result, name, 0)
        for name in ("products_written", "products_removed", "groups_written", "groups_removed")
    )


@receiver(catalog_refreshed, dispatch_uid="sync.publish_after_evotor_refresh")
def publish_after_evotor_refresh(sender, *, user, result=None, **kwargs) -> bool:
    """Queues a sync (trigger `evotor_change`) once the refresh commits, when automatic
    publishing is on and the first publish went through the preview. Returns whether it did."""
    from sync.alerts import alert_resolve

    # Evotor answered: a revoked-token alert about it is over.
    alert_resolve(user=user, cause=AlertCause.EVOTOR_TOKEN_REVOKED)
    if result is not None and not _changed(result):
        return False
    from sync.lifecycle import sync_run_start_check

    # Whether a run may start (automatic publishing on, first publish done) is
    # `sync_run_start_check`'s to say; it is asked again when the run starts, once the refresh
    # has committed.
    if sync_run_start_check(user, trigger=RunTrigger.EVOTOR_CHANGE).refusal is not None:
        return False
    transaction.on_commit(lambda: _start_after_refresh(user))
    return True


@receiver(catalog_changed, dispatch_uid="sync.publish_after_evotor_change")
def publish_after_evotor_change(sender, *, user, groups=False, **kwargs) -> bool:
    """A single change arrived from Evotor (push, pulled event, incremental read): its product
    is marked changed; a targeted publish of the changed products follows once the changes
    quiet down (sync/debounce.py), or a whole `evotor_change` run when a product group changed
    (`groups`). Nothing before the first publish or with automatic publishing off: the marks
    wait for the next run, which publishes everything. Returns whether a publish is due."""
    from sync.debounce import automatic_wanted, changes_note

    if not automatic_wanted(user):
        return False
    changes_note(user=user, whole=bool(groups))
    return True


def _start_after_refresh(user) -> None:
    from sync.lifecycle import StartRefused, sync_run_request

    try:
        _run, started = sync_run_request(user=user, trigger=RunTrigger.EVOTOR_CHANGE)
    except StartRefused:
        return
    if started:
        logger.info("sync queued after Evotor refresh", extra={"user_id": user.pk})


def _broken_alert_cause(vendor: str, reason: str) -> str:
    if vendor == connection_signals.VENDOR_EVOTOR:
        return AlertCause.EVOTOR_TOKEN_REVOKED
    if reason == connection_signals.REASON_MARKET_OFF:
        return AlertCause.MARKET_OFF
    # A revoked token, missing rights, a community that is gone: all fixed on the VK page.
    return AlertCause.TOKEN_REVOKED


# Alerts a working connection clears, by vendor.
RESTORED_CLEARS = {
    connection_signals.VENDOR_EVOTOR: (AlertCause.EVOTOR_TOKEN_REVOKED,),
    connection_signals.VENDOR_VK: (AlertCause.TOKEN_REVOKED, AlertCause.MARKET_OFF),
}


@receiver(connection_signals.connection_broken, dispatch_uid="sync.alert_on_broken_connection")
def alert_on_broken_connection(sender, *, user, vendor, message, reason="", **kwargs) -> str:
    """A connection just broke: the merchant gets the banner and (at most daily) an e-mail.
    Returns the alert cause raised."""
    from sync.alerts import alert_raise

    cause = _broken_alert_cause(vendor, reason)
    alert_raise(user=user, cause=cause, message=message)
    return cause


@receiver(
    connection_signals.connection_restored, dispatch_uid="sync.resolve_on_restored_connection"
)
def resolve_on_restored_connection(sender, *, user, vendor, **kwargs) -> int:
    """The connection works again (or was replaced or removed): its alerts go."""
    from sync.alerts import alert_resolve

    return sum(alert_resolve(user=user, cause=c) for c in RESTORED_CLEARS.get(vendor, ()))


@receiver(vk_catalog_refresh_finished, dispatch_uid="sync.alert_on_vk_catalog_refresh")
def alert_on_vk_catalog_refresh(sender, *, user, run, **kwargs) -> None:
    """VK said the Market is off while the VK catalog was read: raise `market_off`; a refresh
    that read the Market shows it is on again."""
    from sync.alerts import alert_raise, alert_resolve

    if run.status == VkRefreshStatus.OK:
        alert_resolve(user=user, cause=AlertCause.MARKET_OFF)
    elif run.status == VkRefreshStatus.FAILED and run.error_code in MARKET_OFF_CODES:
        alert_raise(user=user, cause=AlertCause.MARKET_OFF, message=run.error)


@receiver(vk_catalog_refresh_finished, dispatch_uid="sync.note_vk_edits")
def note_vk_edits(sender, *, user, run, **kwargs) -> int:
    """A VK catalog read went through: record on the links what the merchant edited in VK
    (sync/vk_edits.py). Returns how many links changed."""
    from sync.vk_edits import item_links_note_vk_edits

    if run.status != VkRefreshStatus.OK or run.started_at is None:
        return 0
    return item_links_note_vk_edits(user=user, read_started_at=run.started_at)
