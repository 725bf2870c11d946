"""What reaches VK of a product's photo: a JPEG that already is what normalizing would make
goes up byte for byte, anything else is normalized first (connections/vk_photos.py)."""

from __future__ import annotations

import hashlib
import io

from PIL import Image

from sync.models import RunStatus


def jpeg(size=(1000, 1000), **options) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 140, 90)).save(buffer, "JPEG", quality=92, **options)
    return buffer.getvalue()


def uploaded_sha256(shop, key: str) -> str:
    (photo,) = shop.vk_item(key)["photos"]
    return shop.vk.photo(photo["id"])["sha256"]


def test_a_square_baseline_jpeg_reaches_vk_byte_for_byte(shop):
    data = jpeg()
    shop.evotor.set_image_file(shop.store_id, shop.products["tea"], data, width=1000, height=1000)

    run = shop.sync()

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert uploaded_sha256(shop, "tea") == hashlib.sha256(data).hexdigest()


def test_a_progressive_jpeg_is_normalized_before_it_goes_up(shop):
    data = jpeg(progressive=True)
    shop.evotor.set_image_file(shop.store_id, shop.products["tea"], data, width=1000, height=1000)

    run = shop.sync()

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert uploaded_sha256(shop, "tea") != hashlib.sha256(data).hexdigest()
    photo = shop.vk.photo(shop.vk_item("tea")["photos"][0]["id"])
    assert (photo["width"], photo["height"]) == (1000, 1000)
