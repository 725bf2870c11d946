"""Reads for product photos: the Evotor product or group a merchant uploads a photo for, the
photos they uploaded, and the thumbnail and VK link pages show beside a product. Restricted to the
merchant: another merchant's photo or product is a 404."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404
from django.shortcuts import get_object_or_404

from sync.models import PhotoEntity, ProductPhoto


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


def product_photos_list(*, user, store_id: str, entity_type: str, entity_id: str):
    """The uploaded photos of a product or group, main first."""
    return ProductPhoto.objects.filter(
        user=user, store_id=store_id, entity_type=entity_type, entity_id=entity_id
    ).order_by("position", "pk")


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
        )
        .order_by("-position")  # the main photo (position 0) is the one kept
        .values_list("store_id", "entity_id", "pk")
    }
    pictures = {}
    for store_id, product_id, vk_id in products:
        thumb = thumbs.get(vk_id, "") if vk_id else ""
        if not thumb and (store_id, product_id) in uploaded:
            thumb = reverse("sync:photo_image", args=[uploaded[store_id, product_id]])
        url = vk_item_url(owner_id, vk_id) if vk_id and owner_id else ""
        pictures[(store_id, product_id, vk_id)] = ItemPicture(thumb_url=thumb, vk_url=url)
    return pictures
