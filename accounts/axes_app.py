"""django-axes under a name the admin can translate (axes' own AppConfig has no verbose_name).

INSTALLED_APPS lists `accounts.axes_app.AxesConfig` in place of `axes`; everything else (label
`axes`, models, checks, signals) is axes' own. It lives outside accounts/apps.py so that Django's
choice of accounts' default AppConfig is not confused by a second config in that module.
"""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class AxesConfig(AxesAppConfig):
    verbose_name = _("Login protection")
