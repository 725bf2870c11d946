"""Unique skus for a plan built in chunks, without holding every product (issue 10 item 4).

`rules.assign_skus` gives each product its base sku unless an earlier product (in its order)
took it, and `inputs._skus` then moves off the skus the skipped products' links carry. Both
look at the whole catalog at once. Most products cannot be touched by either: a product
whose base sku no other product could end up with (another's base, kept or fallback sku) and
no skipped link carries keeps its base sku whatever the others do, and takes nothing anyone
else could want. So the survey keeps one 4-byte hash per candidate sku (an `array`, not a set
of strings), finds the contested ones, and the exact assignment runs on the few contested
products alone, which gives each of them what the whole-catalog assignment would.

A hash collision only makes an uncontested product count as contested: it is then assigned
exactly like the others, so the result does not depend on the hash.
"""

from __future__ import annotations

import hashlib
from array import array
from collections import Counter

from sync.plan import rules

Key = tuple[str, str]


def sku_hash(sku: str) -> int:
    """4 bytes of the lower-cased sku's digest: a collision only costs an exact look."""
    return int.from_bytes(hashlib.blake2b(sku.lower().encode(), digest_size=4).digest(), "big")


class SkuSurvey:
    """Fed every computed product (with its link's sku) and every skipped link's sku, in any
    order; then tells which computed products need the exact assignment."""

    def __init__(self):
        self._wanted = array("I")  # every sku some product may end up with, or a link holds
        self._bases = array("I")  # each computed product's base sku, in the order they came

    def add_product(self, product: rules.SourceProduct, kept: str) -> None:
        base = rules.base_sku(product)
        hashed = sku_hash(base)
        self._bases.append(hashed)
        self._wanted.append(hashed)
        self._wanted.append(sku_hash(rules.fallback_sku(product)))
        if kept and kept.lower() != base.lower():
            self._wanted.append(sku_hash(kept))

    def base_is(self, place: int, sku: str) -> bool:
        """Whether `sku` is the base sku surveyed for the product at `place`."""
        return place < len(self._bases) and self._bases[place] == sku_hash(sku)

    def add_reserved(self, sku: str) -> None:
        """A skipped product's link carries `sku`: nobody else may take it."""
        if sku:
            self._wanted.append(sku_hash(sku))

    def contested(self) -> list[int]:
        """The computed products (their places in the order `add_product` saw them) whose base
        sku something else may want.

        A table of small counters by hash slot (8 slots per hash, a byte each) finds the few
        bases whose slot is shared; only those are counted exactly. Sorting or counting every
        hash as Python integers would cost about 40 bytes a hash."""
        size = 1 << (8 * len(self._wanted)).bit_length()
        mask = size - 1
        slots = bytearray(size)
        for hashed in self._wanted:
            if slots[hashed & mask] < 2:
                slots[hashed & mask] += 1
        maybe = {hashed for hashed in self._bases if slots[hashed & mask] > 1}
        del slots
        if not maybe:
            return []
        counts = Counter(hashed for hashed in self._wanted if hashed in maybe)
        return [place for place, hashed in enumerate(self._bases) if counts[hashed] > 1]


def assign_contested(
    products: list[rules.SourceProduct], *, kept: dict[Key, str], reserved_among
) -> dict[Key, str]:
    """`inputs._skus` for the contested products: `reserved_among(candidates)` tells which of
    the skus (lower case) the skipped products' links carry."""
    from sync.plan.skip import assign_skus_besides

    first = rules.assign_skus(products, kept=kept)
    candidates = {sku.lower() for sku in first.values()}
    candidates |= {kept[key].lower() for key in first if key in kept}
    reserved = reserved_among(candidates)
    if not reserved:
        return first
    return assign_skus_besides(products, kept=kept, reserved=reserved)
