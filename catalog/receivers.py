"""What the catalog does when a lower app tells it something (connected in `CatalogConfig.ready`).

The connections app sits below this one and never imports it: it sends
`connections.signals.connection_restored`, and the cached Evotor catalog goes here when the
Evotor connection it was read through is gone.
"""

from __future__ import annotations

from django.dispatch import receiver

from catalog.services import catalog_delete_for_user
from connections.signals import VENDOR_EVOTOR, connection_restored


@receiver(connection_restored, dispatch_uid="catalog.forget_catalog_on_disconnect")
def forget_catalog_on_disconnect(sender, *, user, vendor, disconnected=False, **kwargs) -> bool:
    """Evotor was disconnected: forget the cached catalog. Returns whether it did."""
    if vendor != VENDOR_EVOTOR or not disconnected:
        return False
    catalog_delete_for_user(user=user)
    return True
