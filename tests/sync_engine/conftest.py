"""Fixtures of the publishing engine's tests: a merchant connected to both sandboxes with a
small catalog of their own, and helpers to drive a run and read what VK has."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest
from PIL import Image

from connections.models import EvotorConnection, VkConnection
from sync.filters import sync_filter_set
from sync.inputs import sync_settings_get
from sync.models import RunTrigger, SyncFilter

EVOTOR_TOKEN = "engine-test-evotor-token"
EVOTOR_USER = "01-000000000000777"
VK_TOKEN = "vk-demo-token"
VK_GROUP = 200001
CATEGORY = 40099


def png_bytes(size=(500, 500), color=(200, 120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class Shop:
    """The merchant's Evotor store in the sandbox, with handles on its products and groups."""

    evotor: object
    vk: object
    user: object
    store_id: str
    groups: dict[str, str] = field(default_factory=dict)
    products: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, name: str, *, group: str | None = "Напитки", image=True, **fields):
        fields.setdefault("quantity", 10)
        fields.setdefault("article_number", f"ART-{key}")
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

    def set(self, key: str, **fields):
        return self.evotor.set_product(self.store_id, self.products[key], **fields)

    def remove(self, key: str):
        return self.evotor.remove_product(self.store_id, self.products[key])

    def configure(self, **fields):
        from sync.inputs import sync_settings_get

        settings_obj = sync_settings_get(self.user)
        for name, value in fields.items():
            setattr(settings_obj, name, value)
        settings_obj.save()
        return settings_obj

    def refresh(self):
        from catalog.services import catalog_refresh_for_user

        result = catalog_refresh_for_user(user=self.user)
        assert result.ok, result.error
        return result

    def sync(self, *, trigger=RunTrigger.MANUAL, **kwargs):
        from sync.runs import sync_run_create, sync_run_execute

        run = sync_run_create(user=self.user, trigger=trigger, **kwargs)
        return sync_run_execute(run=run)

    def refresh_and_sync(self, **kwargs):
        self.refresh()
        return self.sync(**kwargs)

    def vk_items(self, *, include_removed=False):
        items = self.vk.items(VK_GROUP)
        if include_removed:
            return items
        return [item for item in items if item["availability"] != 1]

    def vk_item(self, key: str):
        from sync.models import ItemLink

        link = ItemLink.objects.get(user=self.user, product_id=self.products[key])
        for item in self.vk.items(VK_GROUP):
            if item["id"] == link.vk_item_id:
                return item
        return None

    def write_calls(self) -> int:
        calls = self.vk.stats()["calls_by_method"]
        return sum(
            count
            for method, count in calls.items()
            if method.startswith("market.")
            and method.split(".")[1].startswith(
                ("add", "edit", "delete", "restore", "remove", "save")
            )
        )


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
    for name in ("Напитки", "Выпечка"):
        shop.groups[name] = evotor_sandbox.add_group(store_id, name=name)["id"]
    shop.add("tea", "Чай чёрный листовой", price=150)
    shop.add("coffee", "Кофе молотый", price="349.90")
    shop.add("juice", "Сок яблочный 1 л", price=99)
    shop.add("bun", "Булочка с маком", group="Выпечка", price=45)
    shop.add("pie", "Пирожок с капустой", group="Выпечка", price=55)
    sync_filter_set(
        user=owner, entity_type=SyncFilter.EntityType.STORE, entity_id=store_id, enabled=True
    )
    shop.refresh()
    return shop
