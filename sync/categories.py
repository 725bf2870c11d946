"""VK's product categories for the settings page and the preview: asked of VK once per token
and kept in the cache, with a fallback list for when VK cannot be asked."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

CATEGORIES_CACHE_SECONDS = 6 * 3600

# --- VK categories --------------------------------------------------------------------------------
CategoryChoices = list[tuple[str, list[tuple[int, str]]]]

# Used when VK cannot be asked (no connection yet, VK down). Ids and names as VK's
# market.getCategories answered in 2024–2025 (real answers captured by the OpenIntegrations
# project's test runs, docs/contracts/vk-market-api.md S14); the headings are ours.
FALLBACK_CATEGORIES: CategoryChoices = [
    (
        _("Food and drinks"),
        [
            (20055, "Бакалея"),
            (20056, "Мясо и птица"),
            (20057, "Рыба и морепродукты"),
            (20058, "Овощи, фрукты, зелень"),
            (20060, "Молочные продукты и яйца"),
            (20061, "Мясные деликатесы"),
            (20180, "Замороженные продукты"),
            (20064, "Напитки"),
            (20063, "Еда на заказ"),
            (20062, "Детское питание"),
        ],
    ),
    (_("Clothes and shoes"), [(20000, "Женщинам"), (20001, "Мужчинам"), (20002, "Детям")]),
    (
        _("Home and garden"),
        [
            (20019, "Хозяйственные товары"),
            (20020, "Посуда и товары для кухни"),
            (20023, "Домашний текстиль"),
            (20024, "Интерьер и декор"),
            (20025, "Освещение"),
            (20026, "Мебель"),
            (20027, "Дача и сад"),
            (20021, "Товары для праздников"),
        ],
    ),
    (
        _("Beauty and health"),
        [
            (20086, "Макияж"),
            (20087, "Уход за лицом"),
            (20088, "Уход за телом"),
            (20090, "Уход за волосами"),
            (20093, "Парфюмерия"),
            (20095, "Средства гигиены"),
            (20098, "Витамины, БАДы и пищевые добавки"),
        ],
    ),
    (
        _("Children"),
        [(20068, "Игрушки и игры"), (20069, "Подгузники и гигиена"), (20066, "Детская комната")],
    ),
    (
        _("Electronics"),
        [
            (20003, "Смартфоны и гаджеты"),
            (20007, "ТВ, аудио и видео"),
            (20009, "Компьютеры и ноутбуки"),
            (20015, "Техника для дома"),
        ],
    ),
    (
        _("Hobbies, books and gifts"),
        [
            (20029, "Книги и журналы"),
            (20030, "Рукоделие и творчество"),
            (20031, "Настольные и карточные игры"),
            (20036, "Сувениры и цветы"),
            (20035, "Подарочные сертификаты"),
        ],
    ),
    (
        _("Sport and leisure"),
        [
            (20037, "Тренажеры и фитнес"),
            (20038, "Спортивная одежда"),
            (20052, "Туризм и отдых на природе"),
            (20051, "Охота и рыбалка"),
        ],
    ),
    (
        _("Repair and building"),
        [(20101, "Строительные материалы"), (20102, "Инструмент"), (20103, "Электрика")],
    ),
    (_("Pets"), [(20107, "Для собак"), (20108, "Для кошек")]),
    (_("Cars"), [(20122, "Запчасти"), (20131, "Автоаксессуары")]),
]


def parse_categories(response) -> CategoryChoices:
    """VK's market.getCategories answer as grouped choices.

    Understands both shapes VK has used (docs/contracts/vk-market-api.md §3, §12.7): the 5.199 tree
    (`items` of sections with `children`) and the older flat list (`items` with a `section`).
    Only leaves are offered: they are what an item's `category_id` takes.
    """
    items = (response or {}).get("items") or []
    groups: dict[str, list[tuple[int, str]]] = {}
    loose: list[tuple[int, str]] = []
    for item in items:
        if not isinstance(item, dict) or "id" not in item:
            continue
        children = item.get("children")
        if children:
            options = groups.setdefault(str(item.get("name", "")), [])
            options.extend(
                (int(child["id"]), str(child.get("name", child["id"])))
                for child in children
                if isinstance(child, dict) and "id" in child
            )
        elif isinstance(item.get("section"), dict):
            section = str(item["section"].get("name", ""))
            groups.setdefault(section, []).append((int(item["id"]), str(item.get("name", ""))))
        else:
            loose.append((int(item["id"]), str(item.get("name", item["id"]))))
    choices = [(name, options) for name, options in groups.items() if options]
    if loose:
        choices.append((str(_("Other")), loose))
    return choices


@dataclass(frozen=True)
class Categories:
    choices: CategoryChoices
    from_vk: bool


def vk_categories(user) -> Categories:
    """VK's categories for the merchant's community (cached), or the built-in list.

    Asking VK needs a working VK connection; any failure falls back quietly to the built-in
    list: choosing a category must never be blocked by VK being unreachable.
    """
    from connections.models import VkConnection

    connection = VkConnection.objects.filter(user=user).first()
    if connection is None or not connection.is_usable:
        return Categories(FALLBACK_CATEGORIES, from_vk=False)
    cache_key = f"sync:vk-categories:{connection.group_id}"
    cached = _cache_get(cache_key)
    if cached:
        return Categories(cached, from_vk=True)
    from connections.vk_services import vk_client_for

    try:
        response = vk_client_for(connection).call(
            "market.getCategories", group_id=connection.group_id
        )
        choices = parse_categories(response)
    except Exception as exc:
        # VK's errors, its malformed answers, and the shared cache the VK rate limiter counts
        # in being down alike: the settings page still works, with the built-in list.
        logger.warning(
            "VK categories unavailable, using the built-in list",
            extra={"user_id": user.pk, "error": type(exc).__name__},
        )
        return Categories(FALLBACK_CATEGORIES, from_vk=False)
    if not choices:
        return Categories(FALLBACK_CATEGORIES, from_vk=False)
    _cache_set(cache_key, choices, CATEGORIES_CACHE_SECONDS)
    return Categories(choices, from_vk=True)


def _cache_get(key: str):
    """The cached value, or None when it is not there or the cache does not answer (a page
    that only reads must survive a cache outage)."""
    try:
        return cache.get(key)
    except Exception:
        logger.warning("the cache did not answer", exc_info=True)
        return None


def _cache_set(key: str, value, timeout: int) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception:
        logger.warning("the cache did not answer", exc_info=True)


def category_name(categories: CategoryChoices, category_id: int | None) -> str:
    for _group, options in categories:
        for value, label in options:
            if value == category_id:
                return label
    return ""
