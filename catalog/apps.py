from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Evotor catalog")

    def ready(self):
        # Connects the receivers of the connections app's signals.
        from catalog import receivers  # noqa: F401
