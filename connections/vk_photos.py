"""Product images made acceptable to VK's upload server (docs/contracts/vk-market-api.md §4.2 limits).

VK wants at least 400×400 px, width + height ≤ 14 000 px, at most 50 MB, a side ratio of at
most 20:1. Evotor's product images are 300×300 PNGs or JPEGs, so an image is normalized before
it is uploaded: decoded whatever its format, turned upright (EXIF), flattened onto white,
reduced to a comfortable size (or enlarged to VK's minimum), padded onto a white square (VK
shows items as squares, so nothing gets cropped away) and saved as an RGB JPEG.

A photo that already is what normalizing would make (a square baseline RGB JPEG, upright, of a
size we keep, complete) goes up byte for byte: checked from its header and its last bytes,
without decoding a pixel. Re-encoding it would only cost CPU and quality. Our own output is such
a JPEG, so normalizing twice gives the same bytes.

CPU: the publisher prepares about 56 photos a second at VK's rate (docs/benchmarks.md,
"Publishing"), so the work per photo is kept small. A small image (Evotor's are 300 px) is
enlarged only to VK's minimum of 400 px, not further: an upscale adds bytes, not detail, and
costs CPU by the pixel (a 300 px PNG to 400 px: about 3.4 ms and 4.9 KB; to 800 px: 10.7 ms
and 11.5 KB, four times the pixels; VK shows a card's photo at about that size anyway).
Enlarging resamples bilinearly: at Evotor's 300 → 400 px the result differs from a bicubic one
by less than the JPEG's own loss (44.5 dB PSNR between the two on a textured picture; the
quality-90 JPEG of either is 35 dB from it), at two thirds of the CPU (0.92 instead of 1.37 ms,
the largest single cost of a photo; Lanczos only pays off when reducing). The JPEG is baseline
with optimized Huffman tables (progressive scans cost three times the encoding for no smaller
a file at these sizes).

Memory: the size and the side ratio are read from the header and checked before a single pixel
is decoded; JPEGs are decoded at a reduced scale (`draft`); the image is shrunk before it is
padded, so a 13600×400 strip never becomes a 13600×13600 square (883 MB, issue 13 item 3).
"""

from __future__ import annotations

import io
import warnings

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

# VK's own limits.
VK_MIN_SIDE = 400
VK_MAX_SIDE_SUM = 14_000
VK_MAX_BYTES = 50 * 1024 * 1024
# What we produce: a smaller image is enlarged only to VK's minimum (enlarging invents the
# pixels, so a larger upscale would show nothing more, and it costs CPU by the pixel: see the
# module docstring); a larger one is kept as it is up to TARGET_MAX_SIDE, small enough to
# upload quickly.
TARGET_MIN_SIDE = VK_MIN_SIDE
TARGET_MAX_SIDE = 2560
JPEG_QUALITY = 90
# Start-of-frame markers of a baseline JPEG: the one kind of JPEG every decoder reads, so the only
# kind sent as it is (progressive, arithmetic-coded, lossless or 12-bit ones are re-encoded).
BASELINE_SOF = 0xC0
# Refuse absurd inputs before decoding them (a "decompression bomb"): 25 Mpx is 100 MB as RGBA,
# and the publisher normalizes several photos at once. Product photos are far smaller.
MAX_INPUT_PIXELS = 25_000_000
# VK's own limit on the side ratio of a photo (docs/contracts/vk-market-api.md §4.2); beyond it a product
# photo is a strip nobody could see on a square card.
MAX_ASPECT_RATIO = 20
ORIENTATION = ExifTags.Base.Orientation


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
    with _open(data) as image:
        if acceptable_as_is(image, data):
            return 0  # sent as it is: nothing is decoded
        width, height = image.size
    side = max(_kept_size(width, height))
    return (width * height + side * side) * 4


def acceptable_as_is(image: Image.Image, data: bytes) -> bool:
    """Whether `data` (opened as `image`, header only) is what normalizing it would produce
    anyway, so it can go to VK unchanged: a complete baseline JPEG in RGB, upright (no EXIF
    rotation), square, its side already within TARGET_MIN_SIDE…TARGET_MAX_SIDE, under VK's
    50 MB. A CMYK, greyscale, progressive, rotated, non-square, too small or too large one is
    normalized instead. No pixel is decoded: VK decodes it, and refuses it if it is broken.
    """
    if image.format != "JPEG" or image.mode != "RGB" or len(data) > VK_MAX_BYTES:
        return False
    width, height = image.size
    if width != height or _kept_size(width, height) != (width, height):
        return False
    if _jpeg_frame_marker(data) != BASELINE_SOF:
        return False
    # Truncated files lack the end-of-image marker (some writers pad after it with zeros).
    if not data[-4096:].rstrip(b"\0").endswith(b"\xff\xd9"):
        return False
    try:
        orientation = image.getexif().get(ORIENTATION, 1)
    except Exception:  # a broken EXIF block: let normalizing deal with it
        return False
    return orientation in (0, 1)


def _jpeg_frame_marker(data: bytes) -> int | None:
    """The start-of-frame marker of a JPEG (0xC0 baseline, 0xC2 progressive, …), read from the
    marker segments before the first scan; None if there is none."""
    position = 2  # after SOI
    end = len(data)
    while position + 4 <= end:
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xD8 or 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length field
            position += 2
            continue
        if marker == 0xDA:  # start of scan: no frame header before it
            return None
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return marker
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return None


def normalize_product_image(data: bytes) -> bytes:
    """Any image → an RGB JPEG square VK accepts (≥ 400×400, sides ≤ 2560, well under 50 MB).

    Raises `UnusableImage` (checked from the header) for too many pixels or too thin a shape,
    `InvalidImageError` for anything unreadable. A JPEG that already is such a square
    (`acceptable_as_is`) is returned unchanged, the same bytes.
    """
    image = _open(data)
    if acceptable_as_is(image, data):
        image.close()
        return data
    image = _flatten(_decode(image))
    size = _kept_size(image.width, image.height)
    if max(size) > max(image.size):
        # Enlarging invents the pixels anyway: bilinear is as good here, and cheaper.
        image = image.resize(size, Image.Resampling.BILINEAR)
    elif size != image.size:
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


def _open(data: bytes) -> Image.Image:
    """The image with only its header read; its size checked before any pixel is decoded."""
    if not data:
        raise InvalidImageError("The image is empty.")
    try:
        with warnings.catch_warnings():
            # The size is checked below, against our own (lower) limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise UnusableImage("too_many_pixels", "The image is too large to process.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImageError(f"The file is not a readable image ({exc}).") from exc
    try:
        check_image_dimensions(image.width, image.height)
    except UnusableImage:
        image.close()
        raise
    return image


def _decode(image: Image.Image) -> Image.Image:
    """The pixels of an image opened by `_open`, upright."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
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
        image.save(buffer, "JPEG", quality=quality, optimize=True)
        data = buffer.getvalue()
        if len(data) <= VK_MAX_BYTES or quality <= 50:
            return data
        quality -= 10
