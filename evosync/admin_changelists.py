"""Every admin changelist treats impossible query values as wrong parameters, not a crash.

Django's ChangeList turns a bad lookup into IncorrectLookupParameters (the admin then redirects
with `?e=1`), but only for the errors it expects: the OverflowError of a date drill-down with a
huge year (`?attempt_time__year=99999999999999999999` on django-axes' admins, which set
`date_hierarchy`) escaped as a 500. The wrapping is applied to every registered ModelAdmin,
ours and third-party ones alike, once the admin modules are loaded (EvosyncConfig.ready).
"""

from __future__ import annotations

from functools import cache

from django.contrib.admin.options import IncorrectLookupParameters


class SafeChangeListMixin:
    def __init__(self, *args, **kwargs):
        try:
            super().__init__(*args, **kwargs)
        except OverflowError as exc:
            raise IncorrectLookupParameters(exc) from exc


@cache
def safe_changelist(base: type) -> type:
    """`base` (a ChangeList class) with OverflowError turned into wrong parameters."""
    if issubclass(base, SafeChangeListMixin):
        return base
    return type(f"Safe{base.__name__}", (SafeChangeListMixin, base), {})


def harden_changelists(site) -> None:
    """Make every ModelAdmin registered on `site` use a safe ChangeList class."""
    for model_admin in site._registry.values():
        original = model_admin.get_changelist
        if getattr(original, "_evosync_safe", False):
            continue

        def get_changelist(request, _original=original, **kwargs):
            return safe_changelist(_original(request, **kwargs))

        get_changelist._evosync_safe = True
        model_admin.get_changelist = get_changelist
