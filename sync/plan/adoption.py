"""Adoption: linking products to VK items that already exist instead of creating duplicates.

Two uses (docs/contracts/competitors.md §3.1: duplicates and lost links are merchants' first complaint):
- the first sync finds the merchant's hand-made VK items that are the same product and adopts
  them; adopting the wrong item renames it and changes its price (issue 12: «Нектар вишнёвый»
  matched «Американо 250 мл» by the article "1"), so only strong evidence adopts at once and
  weaker evidence waits for the merchant (`AdoptionDecision`, confirmed or rejected on the
  preview);
- a `market.add` whose answer was lost (timeout, killed worker) left its link in state
  `creating` with the sku we sent: the next run looks for that sku in VK (`find_by_sku`,
  sync/publish/recovery.py) and adopts the item if VK made it, or creates it again if not (VK
  has no dedup key of its own, docs/contracts/vk-market-api.md §11). That sku is ours, so it needs no review.

Matching only: what an adoption writes on the link is sync.publish.links.adopt.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from sync.models import AdoptionVerdict, LinkState
from sync.plan.plan import AdoptionReview
from sync.plan.rules import DesiredItem
from sync.plan.snapshots import LinkSnapshot, VkItemSnapshot
from sync.plan.text import clean_line

# A sku is distinctive when it is long enough not to be a shop's running number: at least six
# characters, not one character repeated, and not a small number padded with zeros ("000001").
SKU_MIN_LENGTH = 6
# Two names are similar when at least half the words of the shorter one are in the other.
NAME_SIMILARITY_MIN = 0.5

STRONG = "strong"
REVIEW = "review"

_WORD_RE = re.compile(r"[^\W\d_]{3,}")


def sku_key(sku: str) -> str:
    return clean_line(sku or "").casefold()


def name_key(name: str) -> str:
    return clean_line(name or "").casefold()


def sku_distinctive(sku: str) -> bool:
    """Whether a sku alone tells one product from another (see SKU_MIN_LENGTH)."""
    key = sku_key(sku)
    if len(key) < SKU_MIN_LENGTH or len(set(key)) < 3:
        return False
    return not (key.isdigit() and int(key) < 10 ** (SKU_MIN_LENGTH - 1))


def name_words(name: str) -> set[str]:
    """The words of a name (letters only, three or more; ё read as е): units and numbers
    ("250 мл", "0,2 л") say little about which product it is."""
    return set(_WORD_RE.findall(name_key(name).replace("ё", "е")))


def name_similarity(first: str, second: str) -> float:
    """The share of the shorter name's words found in the other (1.0 for equal names)."""
    if name_key(first) and name_key(first) == name_key(second):
        return 1.0
    a, b = name_words(first), name_words(second)
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def names_similar(first: str, second: str) -> bool:
    return name_similarity(first, second) >= NAME_SIMILARITY_MIN


@dataclass(frozen=True)
class AdoptionMatch:
    """A VK item that may be this product, with how sure we are (STRONG or REVIEW) and why."""

    vk: VkItemSnapshot
    strength: str
    evidence: str  # "barcode", "sku" or "name"


def product_names(item: DesiredItem) -> list[str]:
    return [n for n in (item.fields.get("name", ""), item.product_name) if n]


def _similar(item: DesiredItem, vk: VkItemSnapshot) -> bool:
    return any(names_similar(name, vk.title) for name in product_names(item))


def _unique(index: dict[str, list]) -> dict[str, object]:
    return {key: values[0] for key, values in index.items() if key and len(values) == 1}


def match_adoptions(
    candidates: list[DesiredItem], vk_items: list[VkItemSnapshot]
) -> dict[tuple[str, str], AdoptionMatch]:
    """{product key: the VK item that may be it}.

    Strong (adopted without asking): the VK item's sku is one of the product's barcodes, or
    the same distinctive sku (`sku_distinctive`), and the names are similar
    (`names_similar`). For review (the merchant confirms or rejects): the same barcode or sku
    with only one of those, or no sku at all but the same name carried by exactly one product
    and exactly one VK item. A short sku on two unrelated names is no evidence at all.

    Several VK items with the sku: the oldest (lowest id). Each VK item is matched at most once.
    """
    result: dict[tuple[str, str], AdoptionMatch] = {}
    taken: set[int] = set()
    by_sku: dict[str, list[VkItemSnapshot]] = defaultdict(list)
    for vk in sorted(vk_items, key=lambda v: v.vk_id):
        if vk.sku:
            by_sku[sku_key(vk.sku)].append(vk)

    def free(key: str) -> list[VkItemSnapshot]:
        return [vk for vk in by_sku.get(key, []) if vk.vk_id not in taken]

    # Barcodes and skus, strong matches first so a weak one never takes a strong one's item.
    weak: list[tuple[DesiredItem, AdoptionMatch]] = []
    for item in candidates:
        found = None
        for barcode in item.barcodes:
            for vk in free(sku_key(barcode)):
                strength = STRONG if _similar(item, vk) else REVIEW
                found = AdoptionMatch(vk, strength, "barcode")
                break
            if found:
                break
        if found is None or found.strength != STRONG:
            sku = item.fields.get("sku", "")
            for vk in free(sku_key(sku)):
                similar, distinctive = _similar(item, vk), sku_distinctive(sku)
                if similar and distinctive:
                    found = AdoptionMatch(vk, STRONG, "sku")
                elif (similar or distinctive) and found is None:
                    found = AdoptionMatch(vk, REVIEW, "sku")
                break
        if found is None:
            continue
        if found.strength == STRONG:
            result[item.key] = found
            taken.add(found.vk.vk_id)
        else:
            weak.append((item, found))
    for item, match in weak:
        if match.vk.vk_id not in taken:
            result[item.key] = match
            taken.add(match.vk.vk_id)

    # The same name, when nothing else tells: only ever for review.
    rest = [item for item in candidates if item.key not in result]
    vk_by_name: dict[str, list[VkItemSnapshot]] = defaultdict(list)
    for vk in vk_items:
        if vk.vk_id not in taken:
            vk_by_name[name_key(vk.title)].append(vk)
    products_by_name: dict[str, list[DesiredItem]] = defaultdict(list)
    for item in rest:
        for name in {name_key(n) for n in product_names(item)}:
            products_by_name[name].append(item)
    unique_vk = _unique(vk_by_name)
    for name, item in _unique(products_by_name).items():
        vk = unique_vk.get(name)
        if vk is None or vk.vk_id in taken or item.key in result:
            continue
        result[item.key] = AdoptionMatch(vk, REVIEW, "name")
        taken.add(vk.vk_id)
    return result


@dataclass
class Adoptions:
    """What a plan adopts: {product key: VK item}, and the weak matches waiting for an answer."""

    adopt: dict[tuple[str, str], VkItemSnapshot]
    waiting: set[tuple[str, str]]
    reviews: list[AdoptionReview]


def adoptions_for(
    desired: list[DesiredItem],
    links_by_key: dict[tuple[str, str], LinkSnapshot],
    vk_items: list[VkItemSnapshot],
    decisions: dict[tuple[str, str], tuple[int, str]],
) -> Adoptions:
    """Products without an item in VK, against the VK items no link holds. A strong match is
    adopted; a weak one is adopted once the merchant confirmed it (`decisions`: {product key:
    (VK item id, AdoptionVerdict)}), left alone once they rejected it, and otherwise waits
    for their answer (the product is left out of the plan until then)."""
    linked_ids = {link.vk_item_id for link in links_by_key.values() if link.vk_item_id is not None}
    candidates = [
        item
        for item in desired
        if (link := links_by_key.get(item.key)) is None
        or (link.vk_item_id is None and link.state != LinkState.CREATING)
    ]
    free_items = [vk for vk in vk_items if vk.vk_id not in linked_ids]
    by_key = {item.key: item for item in candidates}
    result = Adoptions(adopt={}, waiting=set(), reviews=[])
    for key, match in match_adoptions(candidates, free_items).items():
        answer = decisions.get(key)
        if match.strength == STRONG or answer == (match.vk.vk_id, AdoptionVerdict.CONFIRMED):
            result.adopt[key] = match.vk
        elif answer != (match.vk.vk_id, AdoptionVerdict.REJECTED):
            result.waiting.add(key)
            result.reviews.append(AdoptionReview(by_key[key], match.vk, match.evidence))
    result.reviews.sort(key=lambda review: review.desired.product_name.casefold())
    return result


def find_by_sku(
    sku: str, vk_items: list[VkItemSnapshot], *, exclude: set[int]
) -> VkItemSnapshot | None:
    """The VK item carrying `sku` that no link holds yet (the oldest if several)."""
    wanted = sku_key(sku)
    matches = sorted(
        (vk for vk in vk_items if sku_key(vk.sku) == wanted and vk.vk_id not in exclude),
        key=lambda v: v.vk_id,
    )
    return matches[0] if matches else None
