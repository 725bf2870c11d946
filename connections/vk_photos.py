"""Product images made acceptable to VK's upload server (vk-market-api.md §4.2 limits).

VK wants at least 400×400 px, width + height ≤ 14 000 px, at most 50 MB, a side ratio of at
most 20:1. Evotor's product images are 300×300 PNGs or JPEGs, so every image is normalized
before it is uploaded: decoded whatever its format, turned upright (EXIF), flattened onto
white, padded onto a white square (VK shows items as squares, so nothing gets cropped away),
enlarged or reduced to a comfortable size and saved as an RGB JPEG.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

# VK's own limits.
VK_MIN_SIDE = 400
VK_MAX_SIDE_SUM = 14_000
VK_MAX_BYTES = 50 * 1024 * 1024
# What we produce: well above the minimum, so VK's own resizing never works from a tiny image,
# and small enough to upload quickly.
TARGET_MIN_SIDE = 800
TARGET_MAX_SIDE = 2560
JPEG_QUALITY = 90
# Refuse absurd inputs before decoding them (a "decompression bomb").
MAX_INPUT_PIXELS = 100_000_000


class InvalidImageError(ValueError):
    """The bytes are not an image we can read (corrupt, truncated, or another kind of file)."""


def normalize_product_image(data: bytes) -> bytes:
    """Any image → an RGB JPEG square VK accepts (≥ 400×400, sides ≤ 2560, well under 50 MB)."""
    image = _decode(data)
    image = _flatten(image)
    image = _pad_to_square(image)
    side = image.width
    if side < TARGET_MIN_SIDE:
        side = TARGET_MIN_SIDE
    elif side > TARGET_MAX_SIDE:
        side = TARGET_MAX_SIDE
    if side != image.width:
        image = image.resize((side, side), Image.Resampling.LANCZOS)
    return _encode(image)


def _decode(data: bytes) -> Image.Image:
    if not data:
        raise InvalidImageError("The image is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_INPUT_PIXELS:
                raise InvalidImageError(
                    f"The image is too large to process ({image.width}×{image.height} px)."
                )
            image.seek(0)  # the first frame of an animated GIF/WebP
            image.load()
    except InvalidImageError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise InvalidImageError(f"The file is not a readable image ({exc}).") from exc
    if image.width < 1 or image.height < 1:
        raise InvalidImageError("The image has no pixels.")
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a broken EXIF block must not cost us the picture
        return image


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on white: transparency (PNG, GIF) becomes white, not black."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def _pad_to_square(image: Image.Image) -> Image.Image:
    if image.width == image.height:
        return image
    side = max(image.width, image.height)
    square = Image.new("RGB", (side, side), (255, 255, 255))
    square.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return square


def _encode(image: Image.Image) -> bytes:
    quality = JPEG_QUALITY
    while True:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
        data = buffer.getvalue()
        if len(data) <= VK_MAX_BYTES or quality <= 50:
            return data
        quality -= 10
