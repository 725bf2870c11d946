"""Fixtures of the VK tests: the sandbox at a fast rate, clients, images, schema files."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from sandbox.vk.app import DEMO_GROUP_ID, DEMO_USER_TOKEN

# Most tests run at 50 requests per second on both sides, so they stay fast; the focused
# limiter tests and the benchmark use VK's real 3 per second.
FAST_RATE = 50


@pytest.fixture
def vk(vk_sandbox, settings):
    """The VK sandbox, reset, with its limit and the client's both at FAST_RATE."""
    vk_sandbox.set_rate_limit(FAST_RATE)
    settings.VK_REQUESTS_PER_SECOND = FAST_RATE
    return vk_sandbox


@pytest.fixture
def client_factory(vk, db):
    from connections.vk_client import VkClient

    def make(token: str = DEMO_USER_TOKEN, **kwargs) -> VkClient:
        return VkClient(token, **kwargs)

    return make


@pytest.fixture
def vk_client(client_factory):
    """A client with the demo user token (market + photos, admin of 200001)."""
    return client_factory()


@pytest.fixture
def group_id() -> int:
    return DEMO_GROUP_ID


@pytest.fixture
def owner_id() -> int:
    return -DEMO_GROUP_ID


def make_image(size=(300, 300), fmt="PNG", mode="RGB", color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def evotor_png() -> bytes:
    """What Evotor serves as a product image: a 300×300 PNG."""
    return make_image((300, 300), "PNG")
