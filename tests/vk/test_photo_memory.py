"""Photos are checked from the header and shrunk before they are padded (issue 13, item 3).

A 16 KB 13600×400 PNG used to be padded to a 13600×13600 square first (883 MB); the publisher
normalizes several photos at once.
"""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageFile

from connections import vk_photos
from connections.vk_photos import InvalidImageError, UnusableImage, normalize_product_image
from sync.forms import PhotoField
from tests.vk.conftest import make_image


@pytest.fixture
def canvases(monkeypatch):
    """The size of every image Pillow is asked to create inside vk_photos."""
    sizes = []
    real_new = Image.new

    def spy(mode, size, *args, **kwargs):
        sizes.append(tuple(size))
        return real_new(mode, size, *args, **kwargs)

    monkeypatch.setattr(vk_photos.Image, "new", spy)
    return sizes


@pytest.fixture
def no_decoding(monkeypatch):
    def refuse(self):
        raise AssertionError("the pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def test_a_wide_strip_is_shrunk_before_it_is_padded(canvases):
    data = make_image((8000, 400), "PNG")
    canvases.clear()  # Image.new is patched module-wide: forget the test's own image
    jpeg = normalize_product_image(data)
    assert Image.open(io.BytesIO(jpeg)).size == (2560, 2560)
    assert max(max(size) for size in canvases) <= vk_photos.TARGET_MAX_SIDE


def test_a_strip_thinner_than_vk_allows_is_refused_from_its_header(no_decoding):
    with pytest.raises(UnusableImage) as caught:
        normalize_product_image(make_image((13600, 400), "PNG"))
    assert caught.value.reason == "aspect_ratio"
    assert isinstance(caught.value, InvalidImageError)  # the engine's per-item skip


def test_too_many_pixels_are_refused_from_the_header(no_decoding):
    data = make_image((5001, 5001), "PNG", mode="1", color=1)
    with pytest.raises(UnusableImage) as caught:
        normalize_product_image(data)
    assert caught.value.reason == "too_many_pixels"


def test_a_large_jpeg_is_decoded_at_a_reduced_scale(monkeypatch):
    decoded = []
    real_load = ImageFile.ImageFile.load

    def spy(self):
        decoded.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    data = make_image((16000, 1000), "JPEG")
    normalize_product_image(data)
    # Kept: 2560×160, so Pillow may decode at 1/4 (4000×250) instead of 16 Mpx.
    assert set(decoded) == {(4000, 250)}


@pytest.mark.parametrize(("size", "code"), [((8500, 400), "photo_aspect_ratio")])
def test_the_upload_form_refuses_a_photo_the_publisher_would_refuse(size, code):
    from django.core.exceptions import ValidationError

    upload = SimpleUploadedFile("strip.png", make_image(size, "PNG"), "image/png")
    with pytest.raises(ValidationError) as caught:
        PhotoField().clean(upload)
    assert caught.value.error_list[0].code == code
