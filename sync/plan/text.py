"""Text rules for what VK shows: lengths as VK counts them (cp1251), HTML out of Evotor's
descriptions, one-line names, cutting to a limit. Pure functions (docs/contracts/vk-market-api.md
§3, market.add limits)."""

from __future__ import annotations

import html
import re

ELLIPSIS = "…"  # in cp1251 (0x85): one unit

_TAG_RE = re.compile(r"<[^>]*>")
_BLOCK_TAG_RE = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6]|/tr)\b[^>]*>", re.IGNORECASE)
_SCRIPT_RE = re.compile(r"<\s*(script|style)\b.*?<\s*/\s*\1\s*>", re.IGNORECASE | re.DOTALL)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES_RE = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def cp1251_length(text: str) -> int:
    """The length VK checks a name against: characters counted in cp1251.

    VK keeps texts in cp1251 and writes a character cp1251 cannot encode as an HTML entity
    (`&#128512;`), so such a character counts as that many units. Counting them that way never
    lets a name through that VK would find too long. One encode of the whole string (the codec's
    own `xmlcharrefreplace` writes exactly that entity): planning calls this for every product.
    """
    return len(text.encode("cp1251", "xmlcharrefreplace"))


def strip_html(text: str) -> str:
    """Plain text from Evotor's description: tags out, entities decoded, line breaks kept."""
    if not text:
        return ""
    text = _SCRIPT_RE.sub("", text)
    text = _BLOCK_TAG_RE.sub("\n", text)
    text = _TAG_RE.sub("", text)
    text = html.unescape(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL_RE.sub("", text)
    lines = [_SPACES_RE.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip()


def clean_line(text: str) -> str:
    """One line of plain text (names, titles): no HTML, no control characters, single spaces.

    Planning calls this about eight times a product (name, unit, article, barcodes, skus), and
    nearly every such text is already plain: printable (so no control character, no line
    break), with no tag and no entity. For those, `strip_html` would change nothing that the
    final split does not, so the split alone gives the same line at a sixth of the cost.
    """
    if not text:
        return ""
    if text.isprintable() and "<" not in text and "&" not in text:
        return " ".join(text.split())
    return " ".join(strip_html(text).split())


def cut_to_units(text: str, limit: int, *, ellipsis: str = ELLIPSIS) -> str:
    """`text` cut so its cp1251 length is at most `limit`, ending with `ellipsis` if cut."""
    if cp1251_length(text) <= limit:
        return text
    budget = limit - cp1251_length(ellipsis)
    kept: list[str] = []
    used = 0
    for char in text:
        size = cp1251_length(char)
        if used + size > budget:
            break
        kept.append(char)
        used += size
    return "".join(kept).rstrip(" ,.;:-–—") + ellipsis
