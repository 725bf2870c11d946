from django.apps import AppConfig


class VkCatalogConfig(AppConfig):
    name = "vk_catalog"
