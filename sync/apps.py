from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"

    def ready(self):
        # Publishing after each Evotor refresh (sync/signals.py).
        from sync import signals  # noqa: F401
