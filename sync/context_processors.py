"""What publishing adds to every page: the merchant's alert banners.

The base template knows nothing of this app: it includes `site_banners_template` with
`site_banners` when a context processor provides them (listed in settings.TEMPLATES). The
banners are a callable, so the alerts are read only when a page actually renders them.
"""

from __future__ import annotations

from functools import partial

from sync.selectors import alert_banners as _alert_banners


def _banners_of(user) -> list:
    return _alert_banners(user)


def alert_banners(request) -> dict:
    """The signed-in merchant's active alerts, one banner each (nothing for visitors)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "site_banners_template": "sync/includes/alert_banners.html",
        "site_banners": partial(_banners_of, user),
    }
