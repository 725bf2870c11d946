"""The publishing services the pages call (writes live in sync/runs.py; this is their index)."""

from sync.inputs import sync_settings_get
from sync.runs import (
    active_run,
    sync_run_cancel_held,
    sync_run_confirm_held,
    sync_run_create,
    sync_run_execute,
    sync_run_preview,
    sync_run_retry_failed,
    sync_run_start,
)

__all__ = [
    "active_run",
    "sync_run_cancel_held",
    "sync_run_confirm_held",
    "sync_run_create",
    "sync_run_execute",
    "sync_run_preview",
    "sync_run_retry_failed",
    "sync_run_start",
    "sync_settings_get",
]
