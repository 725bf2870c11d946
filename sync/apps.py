from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SyncConfig(AppConfig):
    name = "sync"
    verbose_name = _("Publishing")

    def ready(self):
        # Publishing after each Evotor refresh (sync/signals.py).
        from sync import signals  # noqa: F401
