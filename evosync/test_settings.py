"""Settings for the test suite: the real settings, with tasks run inline and mail kept in memory."""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("EMAIL_PROVIDER", "locmem")

from evosync.settings import *
from evosync.settings import Q_CLUSTER

# django-q2 reads Q_CLUSTER once at import, so sync mode must be set here, not by override.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
# bcrypt at 12 rounds costs ~0.25 s a hash; the hasher choice itself is tested separately.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Redis outlives a test run: keep each run's keys (locks, rate-limit slots) apart.
import uuid

CACHES = {
    alias: {**conf, "KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}"} for alias, conf in CACHES.items()
}
WHITENOISE_AUTOREFRESH = True
# Retries wait the production back-off (HTTP_BACKOFF_SECONDS), recorded instead of slept: see
# the `retry_waits` fixture. Lost answers are injected (tests/network.py), never waited for.
HTTP_READ_TIMEOUT = 5.0

# Tests send several "forgot password" / "send the link again" e-mails to one address in a row;
# tests/accounts/test_public_email_limit.py turns the limit back on where it is the subject.
ACCOUNTS_PUBLIC_EMAIL_INTERVAL_SECONDS = 0

# Tasks run inline: a targeted publish must not wait out the production quiet period in every
# test of a change; tests/sync_engine/test_targeted.py drives the debounce with its own clock.
SYNC_CHANGES_QUIET_SECONDS = 0
# The events poller reads once a run in tests; tests/sync_engine/test_freshness.py drives its
# rounds with its own clock.
EVOTOR_EVENTS_POLL_SECONDS = 0
