"""The publishing services the pages call (writes live in sync/lifecycle.py and sync/runs.py; this is their index)."""

from sync.inputs import sync_settings_get
from sync.lifecycle import (
    sync_run_cancel_held,
    sync_run_confirm_held,
    sync_run_create,
    sync_run_live_or_close_dead,
    sync_run_retry_failed,
    sync_run_start,
)
from sync.runs import sync_run_execute, sync_run_preview

__all__ = [
    "sync_run_cancel_held",
    "sync_run_confirm_held",
    "sync_run_create",
    "sync_run_execute",
    "sync_run_live_or_close_dead",
    "sync_run_preview",
    "sync_run_retry_failed",
    "sync_run_start",
    "sync_settings_get",
]
