"""Fixtures of the publishing engine's tests: a merchant connected to both sandboxes with a
small catalog of their own, and helpers to drive a run and read what VK has."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from connections.models import EvotorConnection, VkConnection
from sync.plan.inputs import sync_settings_get
from tests.sync_shop import CATEGORY, VK_GROUP, VK_TOKEN, Shop

EVOTOR_TOKEN = "engine-test-evotor-token"
EVOTOR_USER = "01-000000000000777"


def png_bytes(size=(500, 500), color=(200, 120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def fast_vk(settings, vk_sandbox):
    """VK's limit raised to 50 requests per second (the client stays under it)."""
    vk_sandbox.set_rate_limit(50)
    settings.VK_REQUESTS_PER_SECOND = 40
    return vk_sandbox


@pytest.fixture
def default_photo_path(settings, tmp_path):
    path = tmp_path / "default.png"
    path.write_bytes(png_bytes())
    settings.VK_DEFAULT_PHOTO_PATH = str(path)
    return path


@pytest.fixture
def shop(owner, evotor_sandbox, fast_vk, settings, tmp_path) -> Shop:
    """The owner, connected to both sandboxes, with one store of a few products switched on."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    evotor_sandbox.add_token(EVOTOR_TOKEN, EVOTOR_USER)
    store_id = evotor_sandbox.add_store(name="Тестовая лавка", user_id=EVOTOR_USER)
    EvotorConnection.objects.create(user=owner, cloud_token=EVOTOR_TOKEN)
    VkConnection.objects.create(user=owner, access_token=VK_TOKEN, group_id=VK_GROUP)
    settings_obj = sync_settings_get(owner)
    settings_obj.vk_category_id = CATEGORY
    settings_obj.save()
    shop = Shop(evotor=evotor_sandbox, vk=fast_vk, user=owner, store_id=store_id)
    shop.add_demo_products()
    shop.switch_store(True)
    shop.refresh()
    return shop
