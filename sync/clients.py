"""A merchant's vendor clients for publishing: VK's (required) and Evotor's (for images)."""

from __future__ import annotations

from connections.evotor_client import EvotorClient
from connections.models import EvotorConnection, VkConnection
from connections.vk_client import VkClient
from connections.vk_services import vk_client_for as connection_vk_client


def usable_vk_connection(user) -> VkConnection | None:
    connection = VkConnection.objects.filter(user=user).first()
    return connection if connection is not None and connection.is_usable else None


def vk_client_for(connection: VkConnection) -> VkClient:
    # Through the connection's service: a VK ID token is renewed before expiry and on VK's
    # "expired" answer.
    return connection_vk_client(connection)


def evotor_client_for(user) -> EvotorClient | None:
    """An Evotor client for product images, or None (then only uploaded photos are used)."""
    connection = EvotorConnection.objects.filter(user=user).first()
    if connection is None or not connection.is_usable:
        return None
    return EvotorClient(connection.cloud_token)
