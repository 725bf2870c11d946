"""Writes to the photos a merchant uploaded: remove one, change their order (the first is the
main photo in VK, the next ones its `photo_ids`, sync/publish/extra_photos.py)."""

from __future__ import annotations

from django.db import transaction

from sync.models import ProductPhoto


def _siblings(photo: ProductPhoto):
    return ProductPhoto.objects.select_for_update().filter(
        user_id=photo.user_id,
        store_id=photo.store_id,
        entity_type=photo.entity_type,
        entity_id=photo.entity_id,
    )


def _renumber(photos: list[ProductPhoto]) -> None:
    """Positions 0, 1, … in the given order (through free places, for the unique constraint)."""
    top = max((p.position for p in photos), default=0) + len(photos) + 1
    for n, photo in enumerate(photos):
        photo.position = top + n
        photo.save(update_fields=["position"])
    for n, photo in enumerate(photos):
        photo.position = n
        photo.save(update_fields=["position"])


@transaction.atomic
def product_photo_delete(*, photo: ProductPhoto) -> None:
    """Deletes an uploaded photo and, once committed, its file; the next one moves up (the
    first left is the main photo)."""
    storage, name = photo.image.storage, photo.image.name
    photo.delete()
    rest = list(_siblings(photo).order_by("position", "pk"))
    if any(p.position != n for n, p in enumerate(rest)):
        _renumber(rest)
    if name:
        transaction.on_commit(lambda: storage.delete(name))


@transaction.atomic
def product_photo_move(*, photo: ProductPhoto, up: bool) -> bool:
    """Moves a photo one place earlier (`up`) or later in its product's order; the first is
    the main photo in VK. False when it is already first or last."""
    photos = list(_siblings(photo).order_by("position", "pk"))
    index = next(n for n, p in enumerate(photos) if p.pk == photo.pk)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(photos):
        return False
    photos[index], photos[other] = photos[other], photos[index]
    _renumber(photos)
    return True
