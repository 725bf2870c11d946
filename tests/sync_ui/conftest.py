"""Fixtures of the publishing pages' tests: a merchant connected to both sandboxes with a small
store of their own, photo files, and run rows made directly for the page tests."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from connections.models import EvotorConnection, VkConnection
from sync.models import RunStatus, RunTrigger, SyncRun
from sync.plan.inputs import sync_settings_get
from tests.sync_shop import CATEGORY, VK_GROUP, VK_TOKEN, Shop

EVOTOR_TOKEN = "ui-test-evotor-token"
EVOTOR_USER = "01-000000000000888"


def image_bytes(size=(500, 500), fmt="PNG", color=(40, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def upload(name="photo.png", *, size=(500, 500), fmt="PNG", content=None) -> SimpleUploadedFile:
    data = content if content is not None else image_bytes(size, fmt)
    content_type = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}.get(fmt, "")
    return SimpleUploadedFile(name, data, content_type=content_type or "application/octet-stream")


@pytest.fixture(autouse=True)
def forget_cached_categories():
    """VK's category list is cached per community; Redis keeps it from one test to the next."""
    from django.core.cache import cache

    cache.delete(f"sync:vk-categories:{VK_GROUP}")
    yield
    cache.delete(f"sync:vk-categories:{VK_GROUP}")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def fast_vk(settings, vk_sandbox):
    """VK's limit raised to 100 requests a second, the client's to 50."""
    vk_sandbox.set_rate_limit(100)
    settings.VK_REQUESTS_PER_SECOND = 50
    return vk_sandbox


@pytest.fixture
def connected(owner, evotor_sandbox, fast_vk):
    """The owner connected to both sandboxes (their own Evotor account, the demo community)."""
    evotor_sandbox.add_token(EVOTOR_TOKEN, EVOTOR_USER)
    EvotorConnection.objects.create(user=owner, cloud_token=EVOTOR_TOKEN)
    VkConnection.objects.create(user=owner, access_token=VK_TOKEN, group_id=VK_GROUP)
    return owner


@pytest.fixture
def shop(connected, owner, evotor_sandbox, fast_vk, media) -> Shop:
    """A store with three drinks and two pastries, switched on, catalog read, category chosen."""
    store_id = evotor_sandbox.add_store(name="Лавка для тестов", user_id=EVOTOR_USER)
    settings_obj = sync_settings_get(owner)
    settings_obj.vk_category_id = CATEGORY
    settings_obj.save()
    shop = Shop(
        evotor=evotor_sandbox, vk=fast_vk, user=owner, store_id=store_id, article_prefix="UI-"
    )
    shop.add_demo_products()
    shop.switch_store(True)
    shop.refresh()
    return shop


def make_run(user, **fields) -> SyncRun:
    defaults = {"trigger": RunTrigger.MANUAL, "status": RunStatus.SUCCEEDED}
    return SyncRun.objects.create(user=user, **{**defaults, **fields})


@pytest.fixture
def owner_run(owner) -> SyncRun:
    return make_run(owner, created=3, updated=1)
