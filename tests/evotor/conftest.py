"""Fixtures for the Evotor side: a client on the sandbox, the demo stores, a connected owner."""

from __future__ import annotations

import pytest
from django.utils import timezone

from connections.evotor_client import EvotorClient
from connections.models import EvotorConnection
from sandbox.evotor.demo import DEMO_TOKEN, DEMO_USER_ID


@pytest.fixture
def sleeps() -> list[float]:
    """Every wait the client asked for (rate limits, backoff): recorded, never slept."""
    return []


@pytest.fixture
def make_client(evotor_sandbox, sleeps):
    def make(token: str = DEMO_TOKEN, **kwargs) -> EvotorClient:
        kwargs.setdefault("sleep", sleeps.append)
        return EvotorClient(token, **kwargs)

    return make


@pytest.fixture
def client_(make_client) -> EvotorClient:
    return make_client()


@pytest.fixture
def demo_stores(evotor_sandbox) -> dict[str, str]:
    """The demo store ids by role: a shop, a café, and one answering 402."""
    shop, cafe, unpaid = evotor_sandbox.store_ids()
    return {"shop": shop, "cafe": cafe, "unpaid": unpaid}


@pytest.fixture
def owner_connection(owner, evotor_sandbox) -> EvotorConnection:
    """The owner, connected to the sandbox with the demo token, checked once (it works)."""
    checked = timezone.now()
    return EvotorConnection.objects.create(
        user=owner,
        cloud_token=DEMO_TOKEN,
        evotor_user_id=DEMO_USER_ID,
        last_checked_at=checked,
        token_verified_at=checked,
    )
