"""Product photos: normalization with Pillow, then upload → saveProductPhoto → one item (§4)."""

import hashlib
import io
import json

import pytest
from PIL import Image

from connections import vk_errors
from connections.vk_photos import (
    InvalidImageError,
    _jpeg_frame_marker,
    normalize_product_image,
    working_memory,
)
from tests.vk.conftest import make_image


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_evotor_300px_png_becomes_a_jpeg_vk_accepts(evotor_png):
    image = opened(normalize_product_image(evotor_png))
    assert image.format == "JPEG" and image.mode == "RGB"
    # Enlarged to VK's minimum only: more pixels would be invented, not seen.
    assert image.size == (400, 400)
    assert image.getpixel((200, 200))[0] > 150  # still red, not stretched into something else


@pytest.mark.parametrize(
    ("size", "fmt", "mode"),
    [
        ((300, 120), "PNG", "RGBA"),
        ((64, 900), "GIF", "P"),
        ((1200, 700), "WEBP", "RGB"),
        ((500, 500), "BMP", "RGB"),
        ((4000, 3000), "JPEG", "L"),
        ((300, 300), "TIFF", "CMYK"),
    ],
)
def test_any_format_and_shape_becomes_a_square_rgb_jpeg_within_limits(size, fmt, mode):
    color = 128 if mode in ("L", "P") else (10, 20, 30, 40)[: len(mode)]
    data = normalize_product_image(make_image(size, fmt, mode, color))
    image = opened(data)
    assert image.format == "JPEG" and image.mode == "RGB"
    assert image.width == image.height
    assert 400 <= image.width <= 2560
    assert image.width + image.height <= 14000
    assert len(data) < 50 * 1024 * 1024


def test_transparency_and_padding_become_white():
    data = normalize_product_image(make_image((300, 100), "PNG", "RGBA", (0, 0, 0, 0)))
    image = opened(data)
    assert image.size == (400, 400)
    assert min(image.getpixel((200, 200))) > 245  # transparent → white
    assert min(image.getpixel((200, 20))) > 245  # padding → white


@pytest.mark.parametrize("data", [b"", b"not an image at all", make_image()[:200]])
def test_corrupt_images_raise_a_clear_value_error(data):
    with pytest.raises(InvalidImageError) as caught:
        normalize_product_image(data)
    assert isinstance(caught.value, ValueError)
    assert "image" in str(caught.value)


def jpeg(size=(1000, 1000), mode="RGB", color=(200, 30, 30), **options) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color[0] if mode == "L" else color).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def rotated_exif() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    return exif.tobytes()


@pytest.mark.parametrize("padding", [b"", b"\0" * 64], ids=["plain", "zero-padded"])
@pytest.mark.parametrize("side", [400, 500, 1000, 2560])
def test_a_square_baseline_jpeg_within_our_sizes_is_kept_byte_for_byte(side, padding):
    data = jpeg((side, side), quality=95) + padding
    assert normalize_product_image(data) is data
    assert working_memory(data) == 0  # nothing is decoded


def test_normalizing_our_own_output_again_changes_nothing(evotor_png):
    once = normalize_product_image(evotor_png)
    assert normalize_product_image(once) == once
    assert _jpeg_frame_marker(once) == 0xC0  # baseline


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(jpeg(progressive=True), id="progressive"),
        pytest.param(jpeg(mode="CMYK", color=(10, 20, 30, 40)), id="cmyk"),
        pytest.param(jpeg(mode="L", color=(128,)), id="greyscale"),
        pytest.param(jpeg(exif=rotated_exif()), id="exif-rotated"),
        pytest.param(jpeg((1200, 900)), id="not-square"),
        pytest.param(jpeg((300, 300)), id="under-400"),
        pytest.param(jpeg((3000, 3000)), id="over-2560"),
    ],
)
def test_a_jpeg_that_is_not_what_we_would_make_is_normalized(data):
    out = normalize_product_image(data)
    assert out != data
    image = opened(out)
    assert image.format == "JPEG" and image.mode == "RGB"
    assert image.width == image.height and 400 <= image.width <= 2560
    assert image.getexif().get(0x0112, 1) == 1
    assert _jpeg_frame_marker(out) == 0xC0


def test_an_exif_rotated_jpeg_is_turned_upright():
    image = opened(normalize_product_image(jpeg((1000, 800), exif=rotated_exif())))
    # 1000×800 shown rotated is 800×1000: padded onto white at the sides, not at the top.
    assert min(image.getpixel((20, 500))) > 245
    assert image.getpixel((500, 20))[0] > 150


def test_a_truncated_jpeg_is_not_sent_as_it_is():
    data = jpeg((1000, 1000))
    with pytest.raises(InvalidImageError):
        normalize_product_image(data[: len(data) // 2])


def test_whole_flow_gives_a_photo_usable_by_one_item_only(
    vk, vk_client, owner_id, group_id, evotor_png
):
    photo_id = vk_client.upload_product_photo(group_id, evotor_png)
    assert vk.photo(photo_id) == {
        "id": photo_id,
        "owner_id": owner_id,
        "width": 400,
        "height": 400,
        "item_id": None,
        "sha256": hashlib.sha256(normalize_product_image(evotor_png)).hexdigest(),
    }
    params = {
        "owner_id": owner_id,
        "description": "Описание тестового товара",
        "category_id": 40001,
        "main_photo_id": photo_id,
    }
    first = vk_client.call("market.add", name="Первый товар", **params)["market_item_id"]
    assert vk.photo(photo_id)["item_id"] == first
    with pytest.raises(vk_errors.VkItemError) as caught:
        vk_client.call("market.add", name="Второй товар", **params)
    assert "photo not found or already assigned to another item" in caught.value.message
    assert len(vk.items(group_id)) == 1
    # The same photo again on its own item is fine (an edit that keeps the photo).
    assert (
        vk_client.call("market.edit", owner_id=owner_id, item_id=first, main_photo_id=photo_id) == 1
    )
    # Uploads are not API requests; the three API requests are server, save, add (+ the edit).
    assert vk_client.uploads_made == 1
    assert vk.requests_by_method["market.getProductPhotoUploadServer"] == 1


def test_upload_urls_come_25_per_request(vk, vk_client, group_id):
    urls = vk_client.get_upload_urls(group_id, 30)
    assert len(set(urls)) == 30
    assert vk_client.requests_made == 2


def test_one_upload_makes_one_photo(vk, vk_client, group_id, evotor_png):
    url = vk_client.get_upload_urls(group_id, 1)[0]
    jpeg = normalize_product_image(evotor_png)
    first = vk_client.upload_photo(url, jpeg)
    assert {"album_id", "meta"} <= set(json.loads(first))
    photo_id = vk_client.save_product_photo(first)
    assert photo_id > 0
    with pytest.raises(vk_errors.VkItemError):
        vk_client.save_product_photo(first)


def test_image_too_small_for_vk_is_refused_when_saved(vk, vk_client, group_id, evotor_png):
    url = vk_client.get_upload_urls(group_id, 1)[0]
    answer = vk_client.upload_photo(url, evotor_png)  # 300×300, not normalized
    with pytest.raises(vk_errors.VkItemError) as caught:
        vk_client.save_product_photo(answer)
    assert caught.value.code == 1435


def test_a_file_that_is_not_an_image_is_refused_when_saved(vk, vk_client, group_id):
    url = vk_client.get_upload_urls(group_id, 1)[0]
    answer = vk_client.upload_photo(url, b"%PDF-1.4 not an image")
    with pytest.raises(vk_errors.VkItemError) as caught:
        vk_client.save_product_photo(answer)
    assert caught.value.code == 100


def test_edited_upload_answer_is_refused(vk, vk_client, group_id, evotor_png):
    url = vk_client.get_upload_urls(group_id, 1)[0]
    answer = json.loads(vk_client.upload_photo(url, normalize_product_image(evotor_png)))
    payload, signature = answer["meta"].rsplit(".", 1)
    answer["meta"] = payload[:-2] + "AA." + signature
    with pytest.raises(vk_errors.VkItemError) as caught:
        vk_client.save_product_photo(json.dumps(answer))
    assert caught.value.code == 121


def test_upload_server_needs_market_on_and_admin_rights(vk, vk_client, client_factory):
    with pytest.raises(vk_errors.VkMarketDisabledError):
        vk_client.get_upload_urls(200002, 1)
    vk.add_token("stranger", user_id=5005)
    with pytest.raises(vk_errors.VkPermissionError):
        client_factory("stranger").upload_product_photo(200001, make_image((500, 500)))


def test_corrupt_image_fails_before_any_request(vk, vk_client, group_id):
    with pytest.raises(InvalidImageError):
        vk_client.upload_product_photo(group_id, b"garbage")
    assert vk_client.requests_made == 0
