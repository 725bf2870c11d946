"""Product images made acceptable to VK's upload server (docs/contracts/vk-market-api.md §4.2 limits).

VK wants at least 400×400 px, width + height ≤ 14 000 px, at most 50 MB, a side ratio of at
most 20:1. Evotor's product images are 300×300 PNGs or JPEGs, so every image is normalized
before it is uploaded: decoded whatever its format, turned upright (EXIF), flattened onto
white, reduced (or enlarged) to a comfortable size, padded onto a white square (VK shows items
as squares, so nothing gets cropped away) and saved as an RGB JPEG.

Memory: the size and the side ratio are read from the header and checked before a single pixel
is decoded; JPEGs are decoded at a reduced scale (`draft`); the image is shrunk before it is
padded, so a 13600×400 strip never becomes a 13600×13600 square (883 MB, issue 13 item 3).
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
# Refuse absurd inputs before decoding them (a "decompression bomb"): 25 Mpx is 100 MB as RGBA,
# and the publisher normalizes several photos at once. Product photos are far smaller.
MAX_INPUT_PIXELS = 25_000_000
# VK's own limit on the side ratio of a photo (docs/contracts/vk-market-api.md §4.2); beyond it a product
# photo is a strip nobody could see on a square card.
MAX_ASPECT_RATIO = 20


class InvalidImageError(ValueError):
    """The bytes are not an image we can read (corrupt, truncated, or another kind of file)."""


class UnusableImage(InvalidImageError):
    """A readable image we refuse to process; `reason` is "too_many_pixels" or "aspect_ratio".

    Raised from the header alone, before the pixels are decoded. The publishing engine skips
    the item's photo with this reason; the message is safe to show the merchant.
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def check_image_dimensions(width: int, height: int) -> None:
    """Raise `UnusableImage` for a size we will not decode (shared with the upload form)."""
    if width * height > MAX_INPUT_PIXELS:
        raise UnusableImage(
            "too_many_pixels",
            f"The image is too large to process ({width}×{height} px).",
        )
    if max(width, height) > MAX_ASPECT_RATIO * max(1, min(width, height)):
        raise UnusableImage(
            "aspect_ratio",
            f"The image is {width}×{height} px; its sides may differ at most "
            f"{MAX_ASPECT_RATIO} times.",
        )


def working_memory(data: bytes) -> int:
    """Bytes `normalize_product_image(data)` may hold at its peak, from the header alone.

    The decoded image at 4 bytes a pixel (RGBA, the widest mode we flatten from) plus the square
    we pad it onto: an overestimate for a JPEG decoded at a reduced scale, never an
    underestimate. Raises like `normalize_product_image` for an image it would refuse, so the
    caller refuses it before reserving anything.
    """
    if not data:
        raise InvalidImageError("The image is empty.")
    try:
        with warnings.catch_warnings():
            # The size is checked below, against our own (lower) limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
    except Image.DecompressionBombError as exc:
        raise UnusableImage("too_many_pixels", "The image is too large to process.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImageError(f"The file is not a readable image ({exc}).") from exc
    check_image_dimensions(width, height)
    side = max(_kept_size(width, height))
    return (width * height + side * side) * 4


def normalize_product_image(data: bytes) -> bytes:
    """Any image → an RGB JPEG square VK accepts (≥ 400×400, sides ≤ 2560, well under 50 MB).

    Raises `UnusableImage` (checked from the header) for too many pixels or too thin a shape,
    `InvalidImageError` for anything unreadable.
    """
    image = _decode(data)
    image = _flatten(image)
    size = _kept_size(image.width, image.height)
    if size != image.size:
        # reducing_gap shrinks by whole factors first (cheap), then resamples the rest.
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return _encode(_pad_to_square(image))


def _kept_size(width: int, height: int) -> tuple[int, int]:
    """The size the image is scaled to before padding: its longest side within the targets."""
    longest = max(width, height)
    side = min(max(longest, TARGET_MIN_SIDE), TARGET_MAX_SIDE)
    if side == longest:
        return width, height
    scale = side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decode(data: bytes) -> Image.Image:
    if not data:
        raise InvalidImageError("The image is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # `open` reads only the header: the size is known before any pixel is decoded.
            image = Image.open(io.BytesIO(data))
            check_image_dimensions(image.width, image.height)
            image.seek(0)  # the first frame of an animated GIF/WebP
            # A JPEG can be decoded at 1/2, 1/4 or 1/8 scale: no more pixels than we keep.
            image.draft(image.mode, _kept_size(image.width, image.height))
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
