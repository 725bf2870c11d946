"""Product pictures drawn on the fly: 300×300 PNGs, like the ones Evotor stores (§3.1)."""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache

from PIL import Image, ImageDraw

SIZE = 300


@lru_cache(maxsize=512)
def render_png(image_id: str) -> bytes:
    """A deterministic picture for an image id: a pastel background with a few shapes."""
    digest = hashlib.sha256(image_id.encode()).digest()
    background = tuple(160 + b % 96 for b in digest[:3])
    accent = tuple(40 + b % 120 for b in digest[3:6])
    image = Image.new("RGB", (SIZE, SIZE), background)
    draw = ImageDraw.Draw(image)
    shape = digest[6] % 3
    box = (60, 60, 240, 240)
    if shape == 0:
        draw.ellipse(box, fill=accent)
    elif shape == 1:
        draw.rounded_rectangle(box, radius=30, fill=accent)
    else:
        draw.polygon([(150, 50), (250, 240), (50, 240)], fill=accent)
    draw.text((16, 270), image_id[:8], fill=(30, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
