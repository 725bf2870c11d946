"""Signals other apps listen to; publishing connects to `catalog_refreshed`."""

from django.dispatch import Signal

# Sent after a successful catalog refresh, with `user` and `result`
# (a `catalog.services.CatalogRefreshResult`). Receivers run in the refresh's worker: enqueue
# anything slow after commit (`transaction.on_commit` with `evosync.runs.enqueue_task`) rather
# than doing it inline.
catalog_refreshed = Signal()
