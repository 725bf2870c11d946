"""One way to write money and dates across the site (issue 12: «197.90» without ₽, «1505,99 ₽»
without a thousands separator, two date formats on one page).

`FORMAT_MODULE_PATH` points Django at the per-language modules here, so `{{ a_datetime }}`,
`|date:"DATETIME_FORMAT"` and the `when` filter all read «5 декабря 2026, 01:53»;
`money` is the one way prices are shown (evosync/templatetags/formats.py).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.utils import translation

# Russian typography: groups of thousands apart by a narrow no-break space, the rouble sign
# after a no-break space, a decimal comma.
NARROW_NBSP = "\u202f"
NBSP = "\u00a0"


def to_decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        return None


def money_text(value, *, language: str | None = None) -> str:
    """An amount in roubles for people: «1 505,99 ₽» in Russian, «₽1,505.99» in English; whole
    amounts without kopecks («45 ₽»); "—" for no amount. Raises nothing: a value that is not a
    number is shown as it is."""
    amount = to_decimal(value)
    if amount is None:
        return "—" if value in (None, "") else str(value)
    amount = amount.quantize(Decimal("0.01"))
    whole = amount == amount.to_integral_value()
    sign = "-" if amount < 0 else ""
    text = f"{abs(amount):,.0f}" if whole else f"{abs(amount):,.2f}"
    language = (language or translation.get_language() or "ru")[:2]
    if language == "en":
        return f"{sign}₽{text}"
    text = text.replace(",", NARROW_NBSP).replace(".", ",")
    return f"{sign}{text}{NBSP}₽"
