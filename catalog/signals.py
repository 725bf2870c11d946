"""Signals other apps listen to; publishing connects to `catalog_refreshed`."""

from django.dispatch import Signal

# Sent after a successful catalog refresh, with `user` and `result`
# (a `catalog.services.CatalogRefreshResult`). Receivers run in the refresh's worker: enqueue
# anything slow after commit (`transaction.on_commit` with `evosync.runs.enqueue_task`) rather
# than doing it inline.
catalog_refreshed = Signal()

# Sent when single changes from Evotor (a push, a pulled event, an incremental read) were
# applied to the cached catalog, with `user` and `products` (how many products became dirty).
# Receivers queue publishing after commit, as for `catalog_refreshed`.
catalog_changed = Signal()
