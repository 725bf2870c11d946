"""Shared fixtures: personas, and the vendor sandboxes served over real HTTP on loopback."""

from __future__ import annotations

import pytest
from django.core import mail  # noqa: F401 - re-exported for tests that read the outbox

from accounts.models import Role, Status, User

PASSWORD = "Correct-Horse-9-Battery"


def make_user(email: str, *, role: str = Role.USER, status: str = Status.ACTIVE, **extra) -> User:
    return User.objects.create_user(
        email=email, password=PASSWORD, role=role, status=status, **extra
    )


@pytest.fixture(autouse=True)
def site_language():
    """Each test starts in the site's language: LocaleMiddleware leaves the language a request
    activated behind in the thread, which would leak into the next test."""
    from django.conf import settings
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture(autouse=True)
def retry_waits(monkeypatch) -> list[float]:
    """Every wait the vendor clients' retry, back-off and rate-limit paths asked for, in
    seconds: recorded instead of slept (connections.http.pause), so failure paths take no
    wall-clock time and tests can check the waits themselves."""
    from connections import http

    waits: list[float] = []
    monkeypatch.setattr(http, "pause", waits.append)
    return waits


@pytest.fixture
def lost_answers(monkeypatch):
    """Answers to drop after the sandbox carried the request out (tests.network.LostAnswers)."""
    from requests.adapters import HTTPAdapter

    from tests.network import LostAnswers

    lost = LostAnswers()
    monkeypatch.setattr(HTTPAdapter, "send", lost.wrap(HTTPAdapter.send))
    return lost


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def owner(db) -> User:
    """The merchant whose data a test looks at."""
    return make_user("owner@example.ru", full_name="Ольга Владелец")


@pytest.fixture
def other_merchant(db) -> User:
    """Another merchant, who must never see the owner's data."""
    return make_user("other@example.ru", full_name="Иван Другой")


@pytest.fixture
def staff(db) -> User:
    return make_user("staff@example.ru", role=Role.ADMIN, full_name="Сотрудник Поддержки")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def other_client(client, other_merchant):
    client.force_login(other_merchant)
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture(scope="session")
def sandbox_server():
    """Both vendor emulators on one loopback port for the whole session."""
    from sandbox.server import SandboxServer

    server = SandboxServer(port=0).start()
    yield server
    server.stop()


@pytest.fixture
def evotor_sandbox(sandbox_server, settings):
    """The Evotor emulator, reset to its seeded demo catalog, with the client pointed at it."""
    sandbox_server.evotor.reset()
    settings.EVOTOR_API_URL = sandbox_server.evotor_url
    return sandbox_server.evotor


@pytest.fixture
def vk_sandbox(sandbox_server, settings):
    """The VK emulator, reset to its seeded state, with the client pointed at it."""
    from sandbox.vk.vkid import DEMO_CLIENT_ID

    sandbox_server.vk.reset()
    settings.VK_API_URL = sandbox_server.vk_url
    settings.VK_ID_URL = sandbox_server.vk_id_url
    settings.VK_ID_CLIENT_ID = DEMO_CLIENT_ID
    settings.VK_ID_CLIENT_SECRET = ""
    settings.VK_ID_REDIRECT_URI = ""
    return sandbox_server.vk
