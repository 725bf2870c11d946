"""Large catalogs for benchmarks, derived from the product's position on demand.

Product N of a generated store is a pure function of (store index, N): nothing is built up
front, so a 100,000-product store costs the sandbox almost no memory and the benchmark measures
the client, not the emulator.
"""

from __future__ import annotations

import re
from decimal import Decimal

from sandbox.evotor.demo import BASE_MS, DESCRIPTIONS, SHOP_LEAVES, ean13

_MASK = (1 << 64) - 1
_ID_RE = re.compile(r"^7e57([0-9a-f]{4})-000([1-3])-4000-8000-([0-9a-f]{12})$")
_KIND_PRODUCT, _KIND_GROUP, _KIND_IMAGE = 1, 2, 3
# An image id's position holds the product's position, and an extra picture's number above it.
_EXTRA_SHIFT = 40
_NAMES = [(base, leaf) for leaf in SHOP_LEAVES for base in leaf.names]
_BRANDS = [brand for leaf in SHOP_LEAVES for brand in leaf.brands if brand]
SIZES = ("S", "M", "L")  # the choices of a generated modification group
MODIFICATIONS = len(SIZES)  # products per generated modification group


def mix(x: int) -> int:
    """splitmix64: a cheap, well-spread hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def make_id(store_index: int, kind: int, n: int) -> str:
    return f"7e57{store_index:04x}-000{kind}-4000-8000-{n:012x}"


def parse_id(value: str, kind: int) -> tuple[int, int] | None:
    """(store index, position) of a generated id of this kind, or None."""
    match = _ID_RE.match(value)
    if not match or int(match.group(2)) != kind:
        return None
    return int(match.group(1), 16), int(match.group(3), 16)


class GeneratedCatalog:
    """The products and groups of one generated store."""

    def __init__(
        self,
        *,
        store_id: str,
        store_index: int,
        products: int,
        user_id: str,
        photos_per_product: int | None = None,
        modification_groups: int = 0,
        content_index: int | None = None,
    ):
        self.photos_per_product = photos_per_product
        # The first 3 × this many products are modifications, three (S, M, L) a group
        # (docs/contracts/evotor-api.md §5.3).
        self.modification_groups = max(0, min(modification_groups, products // MODIFICATIONS))
        self.store_id = store_id
        self.store_index = store_index
        # Whose names, prices and stock the products take (the store's own by default): stores
        # generated with the same content differ only by their ids (bench/freshness.py).
        self.content_index = store_index if content_index is None else content_index
        self.count = products
        self.user_id = user_id
        self.group_count = min(1000, max(10, products // 100))
        # A two-level tree: the first tenth are top-level groups, the rest hang under them.
        self.top_groups = max(1, self.group_count // 10)

    # --- groups -------------------------------------------------------------------------------
    def group_id(self, n: int) -> str:
        return make_id(self.store_index, _KIND_GROUP, n)

    def group(self, n: int) -> dict:
        parent = None if n < self.top_groups else self.group_id(n % self.top_groups)
        base, leaf = _NAMES[n % len(_NAMES)]
        name = leaf.path[-1] if n < self.top_groups else f"{base} — полка {n}"
        return {
            "id": self.group_id(n),
            "name": f"{name} {n}" if n < self.top_groups else name,
            "parent_id": parent,
            "store_id": self.store_id,
            "user_id": self.user_id,
            "created_at": BASE_MS + n * 1000,
            "updated_at": BASE_MS + n * 1000,
        }

    def groups(self) -> list[dict]:
        return [self.group(n) for n in range(self.group_count)] + [
            self.modification_group(k) for k in range(self.modification_groups)
        ]

    # --- modification groups (products sold in variants) ---------------------------------------
    def modification_group_id(self, k: int) -> str:
        return self.group_id(self.group_count + k)

    def modification_group(self, k: int) -> dict:
        group_id = self.modification_group_id(k)
        return {
            **self.group(k % self.top_groups),
            "id": group_id,
            "name": f"Футболка модель {k + 1}",
            "parent_id": self.group_id(k % self.top_groups),
            "attributes": [
                {
                    "id": f"{group_id}-size",
                    "name": "Размер",
                    "choices": [{"id": f"{group_id}-{c}", "name": c} for c in SIZES],
                }
            ],
        }

    def _as_modification(self, row: dict, n: int) -> dict:
        k, size = divmod(n, MODIFICATIONS)
        group_id = self.modification_group_id(k)
        choice = SIZES[size]
        row["name"] = f"Футболка модель {k + 1} {choice}"
        row["parent_id"] = group_id
        row["attributes_choices"] = {f"{group_id}-size": f"{group_id}-{choice}"}
        return row

    # --- products -----------------------------------------------------------------------------
    def product_id(self, n: int) -> str:
        return make_id(self.store_index, _KIND_PRODUCT, n)

    def position(self, product_id: str) -> int | None:
        parsed = parse_id(product_id, _KIND_PRODUCT)
        if parsed is None or parsed[0] != self.store_index or parsed[1] >= self.count:
            return None
        return parsed[1]

    def updated_ms(self, n: int) -> int:
        # Strictly increasing with n, so `since` slices a generated catalog predictably.
        return BASE_MS + 10 * 86_400_000 + n * 1000

    def product(self, n: int) -> dict:
        h = mix(self.content_index * 1_000_003 + n)
        base, leaf = _NAMES[h % len(_NAMES)]
        brand = _BRANDS[(h >> 8) % len(_BRANDS)]
        low, high = leaf.price
        rub = low + (h >> 16) % (high - low + 1)
        cents = (0, 0, 90, 99, 50)[(h >> 24) % 5]
        price = Decimal(rub) + Decimal(cents) / 100
        row = {
            "id": self.product_id(n),
            "type": leaf.type,
            "name": f"{base} {brand} №{n + 1}"[:100],
            "code": str(n + 1)[:10],
            "price": price,
            "cost_price": (price * Decimal("0.7")).quantize(Decimal("0.01")),
            "quantity": Decimal(0) if (h >> 32) % 10 == 0 else Decimal((h >> 36) % 200 + 1),
            "measure_name": leaf.measure,
            "tax": leaf.tax,
            "allow_to_sell": (h >> 44) % 20 != 0,
            "description": DESCRIPTIONS[(h >> 48) % len(DESCRIPTIONS)] if h % 3 == 0 else "",
            "article_number": f"GEN-{n + 1:07d}",
            "barcodes": [ean13(f"46{(h >> 20) % 10**10:010d}")],
            "parent_id": self.group_id(self.top_groups + n % (self.group_count - self.top_groups))
            if self.group_count > self.top_groups
            else self.group_id(0),
            "store_id": self.store_id,
            "user_id": self.user_id,
            "created_at": BASE_MS + n * 1000,
            "updated_at": self.updated_ms(n),
        }
        if n < self.modification_groups * MODIFICATIONS:
            return self._as_modification(row, n)
        return row

    # --- images -------------------------------------------------------------------------------
    def has_image(self, n: int) -> bool:
        if self.photos_per_product is not None:
            return self.photos_per_product > 0
        return n % 3 == 0

    def image_id(self, n: int) -> str:
        return make_id(self.store_index, _KIND_IMAGE, n)

    def extra_images(self, n: int) -> int:
        """Pictures after the first: every other product with a picture has two more."""
        if self.photos_per_product is not None:
            return max(0, self.photos_per_product - 1)
        return 2 if self.has_image(n) and n % 6 == 0 else 0

    def extra_image_id(self, n: int, k: int) -> str:
        """The k-th extra picture (k ≥ 1) of product n: its position with k in the top bits."""
        return make_id(self.store_index, _KIND_IMAGE, n + (k << _EXTRA_SHIFT))


def parse_image_id(image_id: str) -> tuple[int, int] | None:
    """(store index, product position) of a generated picture, main or extra."""
    parsed = parse_id(image_id, _KIND_IMAGE)
    if parsed is None:
        return None
    return parsed[0], parsed[1] & ((1 << _EXTRA_SHIFT) - 1)
