"""`money` and `when`: the site's one way to show prices and moments (evosync.formats)."""

from __future__ import annotations

from django import template
from django.template.defaultfilters import date as date_filter

from evosync.formats import money_text

register = template.Library()


@register.filter
def money(value) -> str:
    """«1 505,99 ₽» (English: «₽1,505.99»); "—" when there is no amount."""
    return money_text(value)


@register.filter
def when(value) -> str:
    """A moment in the site's one format («5 декабря 2026, 01:53», in the current time zone)."""
    if not value:
        return ""
    return date_filter(value, "DATETIME_FORMAT")
