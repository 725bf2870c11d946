from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VkCatalogConfig(AppConfig):
    name = "vk_catalog"
    verbose_name = _("VK catalog")

    def ready(self):
        # Connects the receivers of the connections app's signals.
        from vk_catalog import receivers  # noqa: F401
