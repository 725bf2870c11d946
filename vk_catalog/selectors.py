"""Reads of the VK catalog cache; every query is restricted to the merchant asking."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from connections.models import VkConnection
from vk_catalog.models import RefreshStatus, VkCachedAlbum, VkCachedProduct, VkCatalogRefresh

# The pseudo-albums of the products page, next to the real album primary keys.
ALL_ITEMS = "all"
NO_ALBUM = "none"


def vk_connection_for_user(user) -> VkConnection | None:
    return VkConnection.objects.filter(user=user).first()


def vk_albums_for_user(user) -> QuerySet[VkCachedAlbum]:
    """The albums VK listed at the last refresh, main album first; `first_thumb` is the
    thumbnail of the album's first item with a photo, the cover when VK gives none."""
    first_thumb = (
        VkCachedProduct.objects.filter(album_links__album=OuterRef("pk"), is_removed=False)
        .exclude(thumb_url="")
        .order_by("title", "vk_id")
        .values("thumb_url")[:1]
    )
    return (
        VkCachedAlbum.objects.filter(user=user, is_removed=False)
        .annotate(first_thumb=Subquery(first_thumb))
        .order_by("-is_main", "title", "vk_id")
    )


def vk_album_for_user(user, pk: int) -> VkCachedAlbum:
    """One of the merchant's albums (also one removed in VK since); anyone else's is a 404."""
    return get_object_or_404(VkCachedAlbum, pk=pk, user=user)


def vk_products_for_user(user, *, album: VkCachedAlbum | str = ALL_ITEMS) -> QuerySet:
    """The merchant's live items: all of them, those of one album, or those in no album."""
    products = VkCachedProduct.objects.filter(user=user, is_removed=False)
    if album == NO_ALBUM:
        products = products.filter(album_links__isnull=True)
    elif isinstance(album, VkCachedAlbum):
        products = products.filter(album_links__album=album)
    # `raw` and `description` can be large and the list shows neither.
    return products.defer("raw", "description").order_by("title", "vk_id")


def vk_catalog_counts(user) -> dict[str, int]:
    live = VkCachedProduct.objects.filter(user=user, is_removed=False)
    return {
        "all": live.count(),
        "no_album": live.filter(album_links__isnull=True).count(),
    }


def vk_latest_refresh(user) -> VkCatalogRefresh | None:
    return VkCatalogRefresh.objects.filter(user=user).order_by("-requested_at", "-pk").first()


def vk_last_successful_refresh(user) -> VkCatalogRefresh | None:
    return (
        VkCatalogRefresh.objects.filter(user=user, status=RefreshStatus.OK)
        .order_by("-finished_at", "-pk")
        .first()
    )
