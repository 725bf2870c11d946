"""Reads of Evotor connections. Merchant-facing reads always go through the request's user."""

from __future__ import annotations

from connections.models import EvotorConnection


def evotor_connection_get(*, user) -> EvotorConnection | None:
    """The user's own Evotor connection, if they have one."""
    if not getattr(user, "is_authenticated", False):
        return None
    return EvotorConnection.objects.filter(user=user).first()


def evotor_connection_by_evotor_user_id(*, evotor_user_id: str) -> EvotorConnection | None:
    """The connection Evotor means by its userId (webhooks, docs/contracts/evotor-api.md §7)."""
    if not evotor_user_id:
        return None
    return (
        EvotorConnection.objects.select_related("user")
        .filter(evotor_user_id=evotor_user_id)
        .order_by("pk")
        .first()
    )
