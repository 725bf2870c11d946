"""Fixtures of the publishing pages' tests: a merchant connected to both sandboxes with a small
store of their own, photo files, and run rows made directly for the page tests."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from connections.models import EvotorConnection, VkConnection
from sync.filters import sync_filter_set
from sync.inputs import sync_settings_get
from sync.models import RunStatus, RunTrigger, SyncFilter, SyncRun

EVOTOR_TOKEN = "ui-test-evotor-token"
EVOTOR_USER = "01-000000000000888"
VK_TOKEN = "vk-demo-token"
VK_GROUP = 200001
CATEGORY = 40099  # «Другое» in the VK sandbox's category tree


def image_bytes(size=(500, 500), fmt="PNG", color=(40, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def upload(name="photo.png", *, size=(500, 500), fmt="PNG", content=None) -> SimpleUploadedFile:
    data = content if content is not None else image_bytes(size, fmt)
    content_type = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}.get(fmt, "")
    return SimpleUploadedFile(name, data, content_type=content_type or "application/octet-stream")


@dataclass
class Shop:
    """The owner's Evotor store in the sandbox (switched on for publishing)."""

    evotor: object
    vk: object
    user: object
    store_id: str
    groups: dict[str, str] = field(default_factory=dict)
    products: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, name: str, *, group: str | None = "Напитки", image=True, **fields):
        fields.setdefault("quantity", 10)
        fields.setdefault("article_number", f"UI-{key}")
        row = self.evotor.add_product(
            self.store_id,
            name=name,
            price=fields.pop("price", 100),
            image=image,
            parent_id=self.groups[group] if group else None,
            **fields,
        )
        self.products[key] = row["id"]
        return row

    def refresh(self):
        from catalog.services import catalog_refresh_for_user

        result = catalog_refresh_for_user(user=self.user)
        assert result.ok, result.error
        return result

    def switch_store(self, enabled: bool):
        sync_filter_set(
            user=self.user,
            entity_type=SyncFilter.EntityType.STORE,
            entity_id=self.store_id,
            enabled=enabled,
        )

    def sync(self, *, trigger=RunTrigger.MANUAL) -> SyncRun:
        """One run, executed here (the engine's own entry point)."""
        from sync.runs import sync_run_create, sync_run_execute

        return sync_run_execute(run=sync_run_create(user=self.user, trigger=trigger))

    def vk_items(self):
        return [item for item in self.vk.items(VK_GROUP) if item["availability"] != 1]


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
    shop = Shop(evotor=evotor_sandbox, vk=fast_vk, user=owner, store_id=store_id)
    for name in ("Напитки", "Выпечка"):
        shop.groups[name] = evotor_sandbox.add_group(store_id, name=name)["id"]
    shop.add("tea", "Чай чёрный листовой", price=150)
    shop.add("coffee", "Кофе молотый", price="349.90")
    shop.add("juice", "Сок яблочный 1 л", price=99)
    shop.add("bun", "Булочка с маком", group="Выпечка", price=45)
    shop.add("pie", "Пирожок с капустой", group="Выпечка", price=55)
    shop.switch_store(True)
    shop.refresh()
    return shop


def make_run(user, **fields) -> SyncRun:
    defaults = {"trigger": RunTrigger.MANUAL, "status": RunStatus.SUCCEEDED}
    return SyncRun.objects.create(user=user, **{**defaults, **fields})


@pytest.fixture
def owner_run(owner) -> SyncRun:
    return make_run(owner, created=3, updated=1)
