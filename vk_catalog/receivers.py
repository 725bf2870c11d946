"""What the VK catalog does when a lower app tells it something (connected in
`VkCatalogConfig.ready`).

The connections app sits below this one and never imports it: it sends
`connections.signals.connection_restored`, and the cached VK catalog goes here when the
connection (or the community) it was read from is gone.
"""

from __future__ import annotations

from django.dispatch import receiver

from connections.signals import VENDOR_VK, connection_restored
from vk_catalog.services import vk_catalog_delete_for_user


@receiver(connection_restored, dispatch_uid="vk_catalog.forget_catalog_on_disconnect")
def forget_catalog_on_disconnect(sender, *, user, vendor, disconnected=False, **kwargs) -> bool:
    """VK was disconnected or the community changed: forget the cached VK catalog. Returns
    whether it did."""
    if vendor != VENDOR_VK or not disconnected:
        return False
    vk_catalog_delete_for_user(user=user)
    return True
