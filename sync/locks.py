"""One publishing run per merchant at a time, across every worker process and host.

A `SyncLock` row per merchant names its holder ("host:pid:nonce") and an expiry. Taking it is
one conditional UPDATE (atomic on SQLite and MariaDB alike): it succeeds when the row is free,
expired, or held by a process of this host that no longer exists — so a worker killed in the
middle of a run (SIGKILL, OOM) never locks its merchant out: a restart on the same host takes
over at once, another host once the short expiry has passed. A running holder renews the expiry
as it goes (`SyncLockHandle.renew`), so a long first publish keeps its lock however long it takes.

Why a database row and not `evosync.locks.cache_lock` (what the catalog refreshes use): a run
writes to VK for up to hours, so the lock must survive a cache flush or restart (two
publishers at once would create items twice) and be taken over at once from a dead process of
this host; see evosync/locks.py.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from sync.models import SyncLock

logger = logging.getLogger(__name__)

LOCK_SECONDS = 120  # how long a holder that stopped renewing keeps the lock
RENEW_EVERY_SECONDS = 15


class LockLost(Exception):
    """Another process took the lock (this one stalled past the expiry)."""


def _host() -> str:
    return socket.gethostname()[:100]


def new_holder() -> str:
    return f"{_host()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def holder_is_dead(holder: str) -> bool:
    """Whether `holder` was a process of this host that has exited."""
    parts = holder.split(":")
    if len(parts) < 3:
        return False
    host, pid = ":".join(parts[:-2]), parts[-2]
    if host != _host() or not pid.isdigit():
        return False
    pid_number = int(pid)
    if pid_number == os.getpid():
        return False
    try:
        os.kill(pid_number, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid_number)


def _is_zombie(pid: int) -> bool:
    """A killed child its parent has not reaped yet still answers kill(0): it is dead all the same."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


class SyncLockHandle:
    def __init__(self, user_id: int, holder: str):
        self.user_id = user_id
        self.holder = holder
        self._renewed_at = timezone.now()

    def renew(self, *, force: bool = False) -> None:
        """Push the expiry further (cheap to call often: writes at most every few seconds)."""
        now = timezone.now()
        if not force and (now - self._renewed_at).total_seconds() < RENEW_EVERY_SECONDS:
            return
        updated = SyncLock.objects.filter(user_id=self.user_id, holder=self.holder).update(
            expires_at=now + timedelta(seconds=LOCK_SECONDS)
        )
        if not updated:
            raise LockLost(f"sync lock of user {self.user_id} was taken over")
        self._renewed_at = now

    def release(self) -> None:
        SyncLock.objects.filter(user_id=self.user_id, holder=self.holder).update(
            holder="", expires_at=None
        )


def sync_lock_acquire(user_id: int) -> SyncLockHandle | None:
    """The merchant's publishing lock, or None while another live run holds it."""
    SyncLock.objects.get_or_create(user_id=user_id)
    now = timezone.now()
    current = SyncLock.objects.filter(user_id=user_id).values_list("holder", flat=True).first()
    free = Q(holder="") | Q(expires_at__isnull=True) | Q(expires_at__lt=now)
    if current and holder_is_dead(current):
        free |= Q(holder=current)
        logger.info("taking over the sync lock of a dead process", extra={"user_id": user_id})
    holder = new_holder()
    taken = SyncLock.objects.filter(free, user_id=user_id).update(
        holder=holder, expires_at=now + timedelta(seconds=LOCK_SECONDS)
    )
    return SyncLockHandle(user_id, holder) if taken else None


def sync_lock_held(user_id: int) -> bool:
    """Whether a live run holds the merchant's lock right now (for pages: "sync in progress")."""
    row = SyncLock.objects.filter(user_id=user_id).values_list("holder", "expires_at").first()
    if not row or not row[0] or row[1] is None or row[1] < timezone.now():
        return False
    return not holder_is_dead(row[0])
