"""The stock figure a VK item shows (`stock_amount`, docs/contracts/vk-market-api.md §3 and the
§13 addendum: an integer −1…999 999 on `market.add`/`market.edit`).

Off by default (`SyncSettings.publish_stock`). When on, the figure is Evotor's quantity rounded
down to whole units (a weighed product with 2.75 kg left shows 2), 0 below the store's floor
("show 0 below N", `SyncSettings.stock_floors`) and never outside VK's range. The planner
compares this figure, not the raw quantity, so a sale that leaves the figure as it was costs no
VK write (sync/plan/item_plan.py `diff_fields`).

Pure functions: no database, no network.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, InvalidOperation

# VK's range for `stock_amount`; −1 is the bottom of it, read as "not tracked" (the contract
# notes infer it from the minimum; no VK text says so). EvoSync sends −1 only to clear a figure
# it published before the merchant switched stock publishing off.
STOCK_MIN = -1
STOCK_MAX = 999_999
NOT_TRACKED = -1

# The floor a merchant can set per store: a shop with more than this many of one product does
# not need a floor that high, and the form keeps the number sane.
FLOOR_MAX = 10_000


def stock_figure(quantity, *, floor: int = 0) -> int | None:
    """What VK shows for `quantity` (Evotor's, possibly fractional for weighed goods).

    None when Evotor does not tell the stock (the app has no stock permission, or a service,
    docs/contracts/evotor-api.md §5.2): nothing is sent then, VK keeps what it has. A negative
    quantity (Evotor lets a till sell below zero) shows 0.
    """
    if quantity is None:
        return None
    try:
        whole = int(Decimal(str(quantity)).to_integral_value(rounding=ROUND_FLOOR))
    except (InvalidOperation, ValueError):
        return None
    if whole < max(floor, 1):
        return 0
    return min(whole, STOCK_MAX)


def floors_for_rules(stock_floors) -> tuple[tuple[str, int], ...]:
    """`SyncSettings.stock_floors` ({store id: floor}) as a hashable, clean tuple."""
    cleaned = []
    for store_id, value in (stock_floors or {}).items():
        try:
            floor = int(value)
        except (TypeError, ValueError):
            continue
        if floor > 0:
            cleaned.append((str(store_id), min(floor, FLOOR_MAX)))
    return tuple(sorted(cleaned))


def floor_for(floors: tuple[tuple[str, int], ...], store_id: str) -> int:
    for key, value in floors:
        if key == store_id:
            return value
    return 0
