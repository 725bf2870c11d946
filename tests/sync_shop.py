"""A merchant's shop in the sandboxes, shared by the publishing engine's and pages' tests:
one Evotor store with a few products, the demo VK community, and helpers to change the till,
refresh, run a sync and read what VK holds."""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.filters import sync_filter_set
from catalog.models import SyncFilter
from sync.models import RunTrigger

VK_TOKEN = "vk-demo-token"
VK_GROUP = 200001
CATEGORY = 40099  # «Другое» in the VK sandbox's category tree
# Market methods that change the community (what "zero write calls" counts).
WRITE_PREFIXES = ("add", "edit", "delete", "restore", "remove", "save")


@dataclass
class Shop:
    """The merchant's Evotor store in the sandbox, with handles on its products and groups."""

    evotor: object
    vk: object
    user: object
    store_id: str
    article_prefix: str = "ART-"
    groups: dict[str, str] = field(default_factory=dict)
    products: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, name: str, *, group: str | None = "Напитки", image=True, **fields):
        fields.setdefault("quantity", 10)
        fields.setdefault("article_number", f"{self.article_prefix}{key}")
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

    def add_demo_products(self):
        """Three drinks and two pastries in the groups «Напитки» and «Выпечка»."""
        for name in ("Напитки", "Выпечка"):
            self.groups[name] = self.evotor.add_group(self.store_id, name=name)["id"]
        self.add("tea", "Чай чёрный листовой", price=150)
        self.add("coffee", "Кофе молотый", price="349.90")
        self.add("juice", "Сок яблочный 1 л", price=99)
        self.add("bun", "Булочка с маком", group="Выпечка", price=45)
        self.add("pie", "Пирожок с капустой", group="Выпечка", price=55)

    def set(self, key: str, **fields):
        return self.evotor.set_product(self.store_id, self.products[key], **fields)

    def remove(self, key: str):
        return self.evotor.remove_product(self.store_id, self.products[key])

    def configure(self, **fields):
        from sync.plan.inputs import sync_settings_get

        settings_obj = sync_settings_get(self.user)
        for name, value in fields.items():
            setattr(settings_obj, name, value)
        settings_obj.save()
        return settings_obj

    def switch_store(self, enabled: bool):
        sync_filter_set(
            user=self.user,
            entity_type=SyncFilter.EntityType.STORE,
            entity_id=self.store_id,
            enabled=enabled,
        )

    def refresh(self):
        from catalog.services import catalog_refresh_for_user

        result = catalog_refresh_for_user(user=self.user)
        assert result.ok, result.error
        return result

    def sync(self, *, trigger=RunTrigger.MANUAL, **kwargs):
        """One run, executed here (the engine's own entry point)."""
        from sync.lifecycle import sync_run_create
        from sync.publish.run import sync_run_execute

        return sync_run_execute(run=sync_run_create(user=self.user, trigger=trigger, **kwargs))

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
            if method.startswith("market.") and method.split(".")[1].startswith(WRITE_PREFIXES)
        )
