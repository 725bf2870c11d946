"""VK ID tokens live an hour: renewed before they lapse, and once more when VK answers error 5
("access_token has expired"), then the call is repeated; a refused renewal breaks the connection
with a clear message. All against the sandbox's VK ID over real HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from connections import vk_errors
from connections.models import ConnectionState, VkConnection
from connections.signals import REASON_TOKEN, connection_broken
from connections.vk_services import vk_client_for, vk_connection_refresh
from sandbox.vk.app import DEMO_GROUP_ID, DEMO_USER_ID
from tests.vk.vk_id import COMMUNITIES, connect

OWNER_ID = -DEMO_GROUP_ID


@pytest.fixture
def connection(vk, owner, owner_client) -> VkConnection:
    """The owner, connected in one click to the demo community."""
    assert connect(owner_client)["Location"] == COMMUNITIES
    owner_client.post(COMMUNITIES, {"group_id": DEMO_GROUP_ID})
    return VkConnection.objects.get(user=owner)


def albums(client) -> list:
    return list(client.iter_albums(OWNER_ID))


def test_a_token_far_from_expiry_is_used_as_it_is(vk, connection):
    token = connection.access_token
    albums(vk_client_for(connection))
    assert vk.vkid_stats()["refresh"] == 0
    assert VkConnection.objects.get(pk=connection.pk).access_token == token


def test_a_token_about_to_lapse_is_renewed_before_the_first_call(vk, connection):
    old_access, old_refresh = connection.access_token, connection.refresh_token
    VkConnection.objects.filter(pk=connection.pk).update(
        token_expires_at=timezone.now() + timedelta(minutes=2)
    )
    connection.refresh_from_db()
    client = vk_client_for(connection)
    assert vk.vkid_stats()["refresh"] == 1
    albums(client)
    stored = VkConnection.objects.get(pk=connection.pk)
    assert stored.access_token not in (old_access, "")
    assert stored.refresh_token not in (old_refresh, "")  # the newest one is kept
    assert stored.token_expires_at > timezone.now() + timedelta(minutes=50)
    assert vk.requests_by_method["market.getAlbums"] == 1  # no refused call first


def test_vks_expired_answer_renews_once_and_repeats_the_call(vk, connection):
    vk.expire_access_tokens(DEMO_USER_ID)  # VK says expired although we think it is not
    client = vk_client_for(connection)
    assert albums(client) == []
    assert vk.vkid_stats()["refresh"] == 1
    assert vk.requests_by_method["market.getAlbums"] == 2  # refused, then repeated
    stored = VkConnection.objects.get(pk=connection.pk)
    assert stored.access_token == connection.access_token  # updated in place and stored
    assert stored.state == ConnectionState.OK


def test_the_renewed_refresh_token_is_the_one_used_next_time(vk, connection):
    vk.expire_access_tokens(DEMO_USER_ID)
    albums(vk_client_for(connection))
    vk.expire_access_tokens(DEMO_USER_ID)
    albums(vk_client_for(VkConnection.objects.get(pk=connection.pk)))
    assert vk.vkid_stats()["refresh"] == 2
    assert VkConnection.objects.get(pk=connection.pk).state == ConnectionState.OK


def test_a_second_expired_answer_after_renewing_is_not_renewed_again(vk, connection):
    vk.fail(5, method="market.getAlbums", count=2, message="access_token has expired.")
    with pytest.raises(vk_errors.VkAuthError):
        albums(vk_client_for(connection))
    assert vk.vkid_stats()["refresh"] == 1


def test_withdrawn_access_breaks_the_connection_with_a_clear_message(vk, connection):
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    connection_broken.connect(receiver)
    try:
        vk.withdraw_access(DEMO_USER_ID)
        with translation.override("en"), pytest.raises(vk_errors.VkTokenWithdrawnError) as raised:
            albums(vk_client_for(connection))
    finally:
        connection_broken.disconnect(receiver)
    stored = VkConnection.objects.get(pk=connection.pk)
    assert stored.state == ConnectionState.BROKEN
    with translation.override("en"):
        assert stored.last_error == raised.value.user_message
    assert "Connect VK" in stored.last_error and "withdrawn" in stored.last_error
    assert [s["reason"] for s in seen] == [REASON_TOKEN]


def test_vk_id_down_during_a_renewal_leaves_the_connection_alone(vk, connection, settings):
    settings.HTTP_MAX_RETRIES = 0
    settings.VK_ID_URL = "http://127.0.0.1:9"  # nothing listens there
    vk.expire_access_tokens(DEMO_USER_ID)
    with pytest.raises(vk_errors.VkUnavailableError):
        albums(vk_client_for(connection))
    stored = VkConnection.objects.get(pk=connection.pk)
    assert stored.state == ConnectionState.OK and stored.last_error == ""


def test_two_workers_with_one_lapsed_token_renew_it_once(vk, connection):
    first = VkConnection.objects.get(pk=connection.pk)
    second = VkConnection.objects.get(pk=connection.pk)
    vk.expire_access_tokens(DEMO_USER_ID)
    albums(vk_client_for(first))
    # The second worker still holds the lapsed token: VK refuses it, and the token the first
    # worker stored is taken instead of spending the (now used) refresh token again.
    albums(vk_client_for(second))
    assert vk.vkid_stats()["refresh"] == 1
    assert second.access_token == first.access_token
    assert VkConnection.objects.get(pk=connection.pk).state == ConnectionState.OK


def test_a_pasted_token_is_never_renewed(vk, owner):
    from connections.vk_services import vk_connection_save

    vk.add_token("vk1.a.pasted-token-0123456789", user_id=DEMO_USER_ID, expires_in=-1)
    pasted = vk_connection_save(
        user=owner, group_id=DEMO_GROUP_ID, access_token="vk1.a.pasted-token-0123456789"
    )
    with pytest.raises(vk_errors.VkAuthError):
        albums(vk_client_for(pasted))
    assert vk.vkid_stats()["refresh"] == 0


def test_renewing_without_a_refresh_token_is_a_withdrawal(vk, connection):
    VkConnection.objects.filter(pk=connection.pk).update(refresh_token="")
    connection.refresh_from_db()
    with pytest.raises(vk_errors.VkTokenWithdrawnError):
        vk_connection_refresh(connection, refused_token=connection.access_token)


def test_the_vk_catalog_refresh_rides_over_an_expired_token(vk, connection):
    from vk_catalog.services import vk_catalog_refresh_for_user

    vk.add_album(DEMO_GROUP_ID, "Выпечка")
    vk.expire_access_tokens(DEMO_USER_ID)
    run = vk_catalog_refresh_for_user(user=connection.user)
    assert not run.error and run.albums_seen == 1
    assert vk.vkid_stats()["refresh"] == 1


def test_a_publishing_run_gets_a_renewing_client(vk, connection):
    from sync.clients import vk_client_for

    vk.expire_access_tokens(DEMO_USER_ID)
    assert albums(vk_client_for(connection)) == []
    assert vk.vkid_stats()["refresh"] == 1


def test_the_check_button_renews_an_expired_token(vk, connection, owner_client):
    from django.urls import reverse

    vk.expire_access_tokens(DEMO_USER_ID)
    body = owner_client.post(reverse("connections:vk_test"), HTTP_ACCEPT="application/json").json()
    assert body["ok"] is True
    assert vk.vkid_stats()["refresh"] == 1


def test_two_workers_renewing_ahead_of_expiry_renew_once(vk, connection):
    VkConnection.objects.filter(pk=connection.pk).update(
        token_expires_at=timezone.now() + timedelta(minutes=1)
    )
    first = VkConnection.objects.get(pk=connection.pk)
    second = VkConnection.objects.get(pk=connection.pk)
    vk_client_for(first)
    albums(vk_client_for(second))
    assert vk.vkid_stats()["refresh"] == 1
    assert second.access_token == first.access_token
