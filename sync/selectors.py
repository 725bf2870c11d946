"""Reads for the publishing pages. Every merchant-facing query is restricted to the merchant:
another merchant's run, photo or product is a 404, never a 403 that confirms it exists."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from sync.models import (
    Alert,
    PhotoEntity,
    ProductPhoto,
    RunItemStatus,
    RunStatus,
    SyncRun,
    SyncRunItem,
    SyncSettings,
)

logger = logging.getLogger(__name__)

SYNC_SCHEDULE_NAME = "sync_to_vk"
CATEGORIES_CACHE_SECONDS = 6 * 3600


# --- settings -------------------------------------------------------------------------------------
def sync_settings_read(user) -> SyncSettings:
    """The merchant's settings, or unsaved defaults when they never saved any (no write)."""
    found = SyncSettings.objects.filter(user=user).first()
    return found if found is not None else SyncSettings(user=user)


def first_publish_done(user) -> bool:
    return SyncSettings.objects.filter(user=user, first_published_at__isnull=False).exists()


# --- runs -----------------------------------------------------------------------------------------
def anything_sent(user) -> bool:
    """Whether anything of the merchant's is in VK through EvoSync (an item or an album)."""
    from sync.models import AlbumLink, ItemLink

    return (
        ItemLink.objects.filter(user=user, vk_item_id__isnull=False).exists()
        or AlbumLink.objects.filter(user=user).exists()
    )


def runs_of(user) -> QuerySet[SyncRun]:
    """The merchant's runs, newest first (previews are not runs the merchant started)."""
    return SyncRun.objects.filter(user=user, dry_run=False).order_by("-created_at", "-id")


def run_get(*, user, pk: int) -> SyncRun:
    """One of the merchant's runs; 404 for anybody else's."""
    return get_object_or_404(SyncRun.objects.filter(user=user), pk=pk)


def run_last(user) -> SyncRun | None:
    return runs_of(user).first()


def run_last_finished(user) -> SyncRun | None:
    return runs_of(user).filter(finished_at__isnull=False).first()


def run_marked_active(user) -> SyncRun | None:
    """The run whose row says queued or in progress, if any: a read for pages. Whether it is
    really alive (and closing it if not) is `sync.lifecycle.sync_run_live_or_close_dead`'s,
    called where a run may start."""
    return runs_of(user).filter(status__in=SyncRun.ACTIVE_STATUSES).first()


def run_held(user) -> SyncRun | None:
    return runs_of(user).filter(status=RunStatus.HELD).first()


def run_items(run: SyncRun, *, status: str | None = None) -> QuerySet[SyncRunItem]:
    items = run.items.all().order_by("id")
    if status:
        items = items.filter(status=status)
    return items


@dataclass(frozen=True)
class RunProblem:
    """Why a run is "done with problems", in one line, and where to fix it."""

    text: str
    fix_url: str = ""
    fix_label: str = ""


def run_problem(run: SyncRun) -> RunProblem | None:
    """The main reason items of a finished run were skipped or failed (None: nothing was).

    Skipped items say why through their reason codes (sync.reasons): a missing category or
    missing photos point to the settings, where one choice fixes them all; other skips and
    VK's refusals point to the run's item list.
    """
    from django.urls import reverse
    from django.utils.translation import ngettext

    from sync import reasons
    from sync.plan.rules import FLAG_NO_CATEGORY

    if not (run.skipped or run.failed):
        return None
    codes: dict[str, int] = {}
    skipped = SyncRunItem.objects.filter(run=run, status=RunItemStatus.SKIPPED)
    for error in skipped.values_list("error", flat=True):
        for code in {c.strip() for c in (error or "").split(",") if c.strip()}:
            codes[code] = codes.get(code, 0) + 1
    settings_url = reverse("sync:settings")
    items_url = reverse("sync:run_detail", args=[run.pk]) + "?status=%s#items"
    if codes.get(FLAG_NO_CATEGORY):
        count = codes[FLAG_NO_CATEGORY]
        return RunProblem(
            ngettext(
                "%(count)d item was skipped: no VK category is chosen.",
                "%(count)d items were skipped: no VK category is chosen.",
                count,
            )
            % {"count": count},
            settings_url,
            _("Choose a category"),
        )
    photo = sum(n for code, n in codes.items() if code in reasons.PHOTO_PROBLEMS)
    if photo:
        return RunProblem(
            ngettext(
                "%(count)d item was skipped: it has no photo.",
                "%(count)d items were skipped: they have no photo.",
                photo,
            )
            % {"count": photo},
            settings_url + "#id_default_photo",
            _("Upload a default photo"),
        )
    if run.skipped:
        return RunProblem(
            ngettext(
                "%(count)d item was skipped: VK would refuse it as it is.",
                "%(count)d items were skipped: VK would refuse them as they are.",
                run.skipped,
            )
            % {"count": run.skipped},
            items_url % RunItemStatus.SKIPPED,
            _("See why"),
        )
    return RunProblem(
        ngettext(
            "%(count)d item was not accepted by VK; it is tried again on the next run.",
            "%(count)d items were not accepted by VK; they are tried again on the next run.",
            run.failed,
        )
        % {"count": run.failed},
        items_url % RunItemStatus.FAILED,
        _("See why"),
    )


def run_failed_items(run: SyncRun) -> QuerySet[SyncRunItem]:
    return run_items(run, status=RunItemStatus.FAILED)


# --- alerts ---------------------------------------------------------------------------------------
def alerts_active(user) -> QuerySet[Alert]:
    return Alert.objects.filter(user=user, resolved_at__isnull=True).order_by("created_at")


@dataclass(frozen=True)
class AlertBanner:
    alert: Alert
    advice: str
    fix_label: str
    fix_url: str


def alert_banners(user) -> list[AlertBanner]:
    """The merchant's active alerts with what to do about each (one banner per alert)."""
    from sync.alerts import alert_fix_url, alert_help

    banners = []
    for alert in alerts_active(user).select_related("user"):
        help_ = alert_help(alert)
        banners.append(
            AlertBanner(
                alert=alert,
                advice=str(help_.advice) if help_ else "",
                fix_label=str(help_.fix_label) if help_ else "",
                fix_url=alert_fix_url(alert),
            )
        )
    return banners


# --- the dashboard --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConnectionStatus:
    """One vendor connection as the dashboard shows it."""

    vendor: str
    connected: bool
    ok: bool
    name: str
    error: str
    fix_url_name: str


def connection_statuses(user) -> list[ConnectionStatus]:
    """Evotor and VK: connected or not, working or broken (with the reason), and where to fix."""
    from connections.models import ConnectionState, EvotorConnection, VkConnection

    evotor = EvotorConnection.objects.filter(user=user).first()
    vk = VkConnection.objects.filter(user=user).first()
    evotor_connected = bool(evotor and evotor.cloud_token)
    vk_connected = bool(vk and vk.access_token and vk.group_id)
    return [
        ConnectionStatus(
            vendor="evotor",
            connected=evotor_connected,
            ok=evotor_connected and evotor.state == ConnectionState.OK,
            name="",
            error=(evotor.last_error if evotor else "") or "",
            fix_url_name="connections:evotor",
        ),
        ConnectionStatus(
            vendor="vk",
            connected=vk_connected,
            ok=vk_connected and vk.state == ConnectionState.OK,
            name=(vk.group_name or (f"club{vk.group_id}" if vk.group_id else "")) if vk else "",
            error=(vk.last_error if vk else "") or "",
            fix_url_name="connections:vk",
        ),
    ]


def schedule_next_run() -> datetime | None:
    """When the periodic publishing (`sync_to_vk`) runs next, if it is scheduled at all."""
    from django_q.models import Schedule

    schedule = Schedule.objects.filter(name=SYNC_SCHEDULE_NAME).only("next_run", "repeats").first()
    if schedule is None or schedule.repeats == 0:
        return None
    return schedule.next_run


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


# --- photos ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PhotoSubject:
    """The Evotor product or group a photo upload is for."""

    store_id: str
    entity_type: str
    entity_id: str
    name: str
    store_name: str
    group_id: str = ""


def photo_subject_get(*, user, store_id: str, entity_type: str, entity_id: str) -> PhotoSubject:
    """The merchant's cached product or group; 404 when it is not theirs (or unknown)."""
    from catalog.models import CachedGroup, CachedProduct

    if entity_type == PhotoEntity.PRODUCT:
        model = CachedProduct
    elif entity_type == PhotoEntity.GROUP:
        model = CachedGroup
    else:
        raise Http404
    row = (
        model.objects.filter(user=user, store_evotor_id=store_id, evotor_id=entity_id)
        .select_related("store")
        .first()
    )
    if row is None:
        raise Http404
    return PhotoSubject(
        store_id=store_id,
        entity_type=entity_type,
        entity_id=entity_id,
        name=row.name,
        store_name=row.store.name,
        group_id=row.parent_evotor_id if entity_type == PhotoEntity.PRODUCT else "",
    )


def product_photo_find(*, user, store_id: str, entity_type: str, entity_id: str):
    return ProductPhoto.objects.filter(
        user=user, store_id=store_id, entity_type=entity_type, entity_id=entity_id
    ).first()


def product_photo_get(*, user, pk: int) -> ProductPhoto:
    return get_object_or_404(ProductPhoto.objects.filter(user=user), pk=pk)


@dataclass(frozen=True)
class ItemPicture:
    """What a page shows beside a product: its thumbnail and its page in VK, where known."""

    thumb_url: str = ""
    vk_url: str = ""


def item_pictures(user, products: list[tuple[str, str, int | None]]) -> dict[tuple, ItemPicture]:
    """Pictures of (store_id, product_id, vk_item_id) triples, in three queries whatever their
    number: the VK thumbnail of an item in VK (from the VK catalog's copy), else the photo the
    merchant uploaded for the product (through the owner-checked photo view). Evotor's own
    images are not shown: they live behind the merchant's Evotor token."""
    from django.urls import reverse

    from connections.models import VkConnection
    from vk_catalog.models import VkCachedProduct, vk_item_url

    vk_ids = {vk_id for _store, _product, vk_id in products if vk_id}
    thumbs = dict(
        VkCachedProduct.objects.filter(user=user, vk_id__in=vk_ids, is_removed=False)
        .exclude(thumb_url="")
        .values_list("vk_id", "thumb_url")
    )
    connection = VkConnection.objects.filter(user=user).only("group_id").first()
    owner_id = -int(connection.group_id) if connection and connection.group_id else None
    uploaded = {
        (store_id, product_id): pk
        for store_id, product_id, pk in ProductPhoto.objects.filter(
            user=user,
            entity_type=PhotoEntity.PRODUCT,
            entity_id__in={product for _store, product, _vk in products},
        ).values_list("store_id", "entity_id", "pk")
    }
    pictures = {}
    for store_id, product_id, vk_id in products:
        thumb = thumbs.get(vk_id, "") if vk_id else ""
        if not thumb and (store_id, product_id) in uploaded:
            thumb = reverse("sync:photo_image", args=[uploaded[store_id, product_id]])
        url = vk_item_url(owner_id, vk_id) if vk_id and owner_id else ""
        pictures[(store_id, product_id, vk_id)] = ItemPicture(thumb_url=thumb, vk_url=url)
    return pictures
