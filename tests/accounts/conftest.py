"""Fixtures of the accounts tests: more personas, a movable clock, and mail helpers."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail, signing

from accounts.models import Role, Status
from tests.conftest import make_user


class Clock:
    """Moves the time seen by signed links (TimestampSigner) and Django's reset tokens."""

    def __init__(self):
        self.offset = 0.0

    def advance(self, **delta) -> None:
        self.offset += timedelta(**delta).total_seconds()

    def time(self) -> float:  # stands in for the `time` module inside django.core.signing
        return time.time() + self.offset

    def now(self) -> datetime:
        return datetime.now() + timedelta(seconds=self.offset)


@pytest.fixture(autouse=True)
def site_language():
    """Each test starts in the site's language: a request's LocaleMiddleware leaves the language
    it activated behind in the thread, which would leak into the next test."""
    from django.conf import settings
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture
def clock(monkeypatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(signing, "time", c)
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: c.now())
    return c


@pytest.fixture
def system_user(db):
    return make_user("root@example.ru", role=Role.SYSTEM, full_name="Системный Пользователь")


@pytest.fixture
def pending_user(db):
    return make_user("pending@example.ru", status=Status.PENDING, full_name="Пётр Ожидающий")


@pytest.fixture
def suspended_user(db):
    return make_user(
        "suspended@example.ru",
        status=Status.SUSPENDED,
        suspension_reason="Неоплаченный счёт",
        full_name="Семён Приостановленный",
    )


@pytest.fixture
def invited_user(db):
    from accounts.models import User

    return User.objects.create_user(email="invited@example.ru", full_name="Инна Приглашённая")


@pytest.fixture
def outbox():
    mail.outbox.clear()
    return mail.outbox


LINK_RE = re.compile(r"https?://[^\s\"'<>]+")


def link_in(message, *, contains: str) -> str:
    """The absolute link in an e-mail's text body that contains `contains`, as a path."""
    from django.conf import settings

    for link in LINK_RE.findall(message.body):
        if contains in link:
            assert link.startswith(settings.BASE_URL)
            return link[len(settings.BASE_URL) :]
    raise AssertionError(f"no link containing {contains!r} in {message.body!r}")
