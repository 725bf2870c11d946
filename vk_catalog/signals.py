"""Signals other apps listen to; publishing connects to `vk_catalog_refresh_finished`."""

from django.dispatch import Signal

# Sent after every refresh that ran to an end, successful or not (not for one that crashed),
# with `user` and `run` (the finished `vk_catalog.models.VkCatalogRefresh`: `status`, `error`,
# `error_code`). Sent with `send_robust`: a failing receiver is logged and never fails the
# refresh. Receivers run in the refresh's worker: keep them quick.
vk_catalog_refresh_finished = Signal()
