"""One-click VK connect (/connections/vk/connect/ → VK ID → /callback/ → /communities/), end to
end over real HTTP to the VK sandbox: the consent page, the code, the token endpoint, the list
of communities and the checks of the choice."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from connections.models import ConnectionState, VkConnection, VkTokenKind
from connections.vk_connect import PENDING_KEY, STATE_KEY
from sandbox.vk.app import (
    DEMO_EDITOR_GROUP_ID,
    DEMO_GROUP_ID,
    DEMO_MARKET_OFF_GROUP_ID,
    DEMO_USER_ID,
)
from sandbox.vk.vkid import DEMO_CLIENT_ID
from tests.vk.vk_id import CALLBACK, COMMUNITIES, connect, consent, local, query, start

PAGE = reverse("connections:vk")
OTHER_VK_USER = 1002


def choose(client, group_id, **headers):
    return client.post(COMMUNITIES, {"group_id": group_id}, **headers)


def raw_column(connection, column) -> str:
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM connections_vkconnection WHERE id = %s", [connection.pk]
        )
        return cursor.fetchone()[0]


# --- the whole way ---------------------------------------------------------------------------------


def test_the_button_sends_the_person_to_vk_id_with_pkce_and_state(vk, owner_client):
    url = start(owner_client)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{vk.public_url}/id/authorize"
    params = query(url)
    assert params["response_type"] == "code"
    assert params["client_id"] == DEMO_CLIENT_ID
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43  # BASE64URL of a SHA-256, no padding
    assert params["redirect_uri"] == "http://testserver" + CALLBACK
    assert set(params["scope"].split()) >= {"market", "photos", "groups"}
    session = owner_client.session[STATE_KEY]
    assert session["state"] == params["state"] and session["verifier"]
    assert params["code_challenge"] not in str(session)  # the verifier is kept, encrypted


def test_allow_then_choose_connects_with_encrypted_tokens_that_refresh(vk, owner, owner_client):
    response = connect(owner_client)
    assert response.status_code == 302 and response["Location"] == COMMUNITIES
    page = owner_client.get(COMMUNITIES)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Демо-магазин" in text and "Демо-кафе без товаров" in text
    assert "Соседская пекарня" not in text  # only an editor there: filter=admin leaves it out
    assert not VkConnection.objects.filter(user=owner).exists()  # nothing saved before a choice

    response = choose(owner_client, DEMO_GROUP_ID)
    assert response.status_code == 302 and response["Location"] == PAGE
    connection = VkConnection.objects.get(user=owner)
    assert connection.group_id == DEMO_GROUP_ID and connection.group_name == "Демо-магазин"
    assert connection.token_kind == VkTokenKind.VK_ID
    assert connection.state == ConnectionState.OK and connection.last_checked_at
    assert connection.token_verified_at and connection.device_id
    assert connection.vk_user_id == DEMO_USER_ID
    assert connection.access_token in vk.vkid.issued_access_tokens(DEMO_USER_ID)
    assert connection.refresh_token.startswith("vk2.r.")
    for column in ("access_token", "refresh_token"):
        stored = raw_column(connection, column)
        assert stored and getattr(connection, column) not in stored
    assert PENDING_KEY not in owner_client.session

    page = owner_client.get(PAGE, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Работает" in page and "Демо-магазин" in page
    assert connection.access_token not in page and connection.refresh_token not in page


def test_the_success_is_said_once(vk, owner_client):
    connect(owner_client)
    response = owner_client.post(COMMUNITIES, {"group_id": DEMO_GROUP_ID}, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1 and "Демо-магазин" in messages[0]
    assert 'role="alert"' not in response.content.decode()


def test_the_connection_then_publishes_with_the_vk_id_token(vk, owner, owner_client):
    connect(owner_client)
    choose(owner_client, DEMO_GROUP_ID)
    from connections.vk_services import vk_client_for

    connection = VkConnection.objects.get(user=owner)
    album = vk_client_for(connection).call(
        "market.addAlbum", owner_id=-DEMO_GROUP_ID, title="Из теста"
    )
    assert album["market_album_id"] >= 1


def test_the_code_is_sent_with_the_verifier_and_works_once(vk, owner_client):
    back = consent(start(owner_client))
    assert owner_client.get(local(back)).status_code == 302
    assert vk.vkid_stats()["code"] == 1
    # The same answer again: the attempt is over, the code is not even tried.
    response = owner_client.get(local(back), follow=True)
    assert response.redirect_chain[-1][0] == PAGE
    assert vk.vkid_stats()["code"] == 1


def test_the_token_never_reaches_the_logs(vk, owner, owner_client, caplog):
    with caplog.at_level(logging.DEBUG):
        connect(owner_client)
        choose(owner_client, DEMO_GROUP_ID)
    connection = VkConnection.objects.get(user=owner)
    assert connection.access_token not in caplog.text
    assert connection.refresh_token not in caplog.text


# --- refused answers -------------------------------------------------------------------------------


def test_an_answer_with_a_wrong_state_is_refused_and_its_code_not_used(vk, owner, owner_client):
    back = consent(start(owner_client))
    params = query(back)
    params["state"] = "forged-" + params["state"]
    response = owner_client.get(CALLBACK, params, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert response.redirect_chain[-1][0] == PAGE
    (message,) = [str(m) for m in response.context["messages"]]
    assert "does not belong to a connection started here" in message
    assert vk.vkid_stats()["code"] == 0
    assert not VkConnection.objects.filter(user=owner).exists()


def test_another_users_answer_is_refused(vk, owner, other_merchant):
    owner_client, intruder = Client(), Client()
    owner_client.force_login(owner)
    intruder.force_login(other_merchant)
    back = consent(start(owner_client))
    start(intruder)  # even with an attempt of their own, someone else's answer is not theirs
    response = intruder.get(local(back), follow=True)
    assert response.redirect_chain[-1][0] == PAGE
    assert vk.vkid_stats()["code"] == 0
    assert PENDING_KEY not in intruder.session
    assert not VkConnection.objects.filter(user=other_merchant).exists()
    # The owner's own attempt is untouched and still completes.
    assert owner_client.get(local(back))["Location"] == COMMUNITIES


def test_an_answer_without_any_attempt_is_refused(vk, owner_client):
    response = owner_client.get(CALLBACK, {"code": "x", "state": "y", "device_id": "z"})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert vk.vkid_stats()["code"] == 0


def test_an_answer_after_the_session_changed_hands_is_refused(vk, owner, other_merchant, client):
    client.force_login(owner)
    back = consent(start(client))
    client.force_login(other_merchant)  # the session now belongs to someone else
    client.get(local(back))
    assert vk.vkid_stats()["code"] == 0
    assert not VkConnection.objects.exists()


def test_pressing_cancel_at_vk_changes_nothing_and_says_so(vk, owner, owner_client):
    back = consent(start(owner_client), decision="deny")
    assert query(back)["error"] == "access_denied"
    response = owner_client.get(local(back), HTTP_ACCEPT_LANGUAGE="en", follow=True)
    (message,) = [str(m) for m in response.context["messages"]]
    assert "did not allow access" in message
    assert not VkConnection.objects.filter(user=owner).exists()


def test_an_app_without_vks_approval_for_market_is_explained(vk, owner, owner_client):
    vk.register_app(DEMO_CLIENT_ID, "EvoSync", approved=("photos", "groups"))
    response = connect(owner_client, HTTP_ACCEPT_LANGUAGE="en")
    page = owner_client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    (message,) = [str(m) for m in page.context["messages"]]
    assert "“market”" in message and "support" in message
    assert PENDING_KEY not in owner_client.session
    assert not VkConnection.objects.filter(user=owner).exists()


def test_the_callback_needs_a_signed_in_user(vk, client):
    response = client.get(CALLBACK, {"code": "x", "state": "y"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_starting_needs_a_post_with_the_csrf_token(vk, owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.get(reverse("connections:vk_connect")).status_code == 405
    assert client.post(reverse("connections:vk_connect")).status_code == 403
    assert STATE_KEY not in client.session


def test_without_a_vk_id_app_the_button_is_hidden_and_pasting_remains(vk, owner_client, settings):
    settings.VK_ID_CLIENT_ID = ""
    page = owner_client.get(PAGE).content.decode()
    assert reverse("connections:vk_connect") not in page
    assert 'id="id_access_token"' in page and "<details" in page and " open>" in page
    response = owner_client.post(reverse("connections:vk_connect"))
    assert response["Location"] == PAGE


# --- the choice, explained before saving ----------------------------------------------------------


@pytest.fixture
def allowed(vk, owner_client):
    assert connect(owner_client)["Location"] == COMMUNITIES
    return owner_client


def test_a_community_with_market_off_is_shown_but_cannot_be_chosen(allowed, owner):
    page = allowed.get(COMMUNITIES, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    off = page.split(f'data-community="{DEMO_MARKET_OFF_GROUP_ID}"', 1)[1].split("</div>", 1)[0]
    assert "disabled" in off and "turned off" in off
    response = choose(allowed, DEMO_MARKET_OFF_GROUP_ID, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "turned off" in response.content.decode()
    assert not VkConnection.objects.filter(user=owner).exists()
    assert PENDING_KEY in allowed.session  # the person may still choose another


def test_a_community_the_person_does_not_administer_is_refused(allowed, owner):
    response = choose(allowed, DEMO_EDITOR_GROUP_ID, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "not an administrator" in response.content.decode()
    assert not VkConnection.objects.filter(user=owner).exists()


def test_a_community_that_is_not_there_is_refused(allowed, owner):
    response = choose(allowed, 999999, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "not an administrator" in response.content.decode()
    assert not VkConnection.objects.filter(user=owner).exists()


@pytest.mark.parametrize("value", ["", "abc", "-5"])
def test_a_malformed_choice_is_refused(allowed, owner, value):
    response = choose(allowed, value)
    assert response.status_code == 400
    assert not VkConnection.objects.filter(user=owner).exists()


def test_market_switched_off_between_list_and_choice_is_caught(allowed, vk, owner):
    vk.set_market_enabled(DEMO_GROUP_ID, False)
    response = choose(allowed, DEMO_GROUP_ID, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "turned off" in response.content.decode()
    assert not VkConnection.objects.filter(user=owner).exists()


def test_a_person_with_no_communities_is_told_what_to_do(vk, owner_client):
    vk.add_user(OTHER_VK_USER, "Пётр Без Сообществ")
    back = consent(start(owner_client), user_id=OTHER_VK_USER)
    owner_client.get(local(back))
    page = owner_client.get(COMMUNITIES, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "do not administer any VK community" in page


def test_access_withdrawn_before_the_choice_asks_to_connect_again(allowed, vk, owner):
    vk.withdraw_access(DEMO_USER_ID)
    response = choose(allowed, DEMO_GROUP_ID, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Connect VK" in response.content.decode()
    assert PENDING_KEY not in allowed.session
    assert not VkConnection.objects.filter(user=owner).exists()


def test_a_busy_vk_saves_nothing_and_keeps_the_list(allowed, vk, owner, settings):
    settings.HTTP_MAX_RETRIES = 0
    vk.fail(10, method="execute", count=1)
    response = choose(allowed, DEMO_GROUP_ID, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "not answering properly" in response.content.decode()
    assert not VkConnection.objects.filter(user=owner).exists()
    assert choose(allowed, DEMO_GROUP_ID).status_code == 302


def test_the_list_without_any_access_sends_back_to_the_button(vk, owner_client):
    response = owner_client.get(COMMUNITIES)
    assert response.status_code == 302 and response["Location"] == PAGE


def test_other_merchants_cannot_use_the_owners_waiting_tokens(allowed, other_client, owner):
    response = other_client.get(COMMUNITIES)
    assert response["Location"] == PAGE
    choose(other_client, DEMO_GROUP_ID)
    assert not VkConnection.objects.exists()


# --- changing the community of a saved connection --------------------------------------------------


def test_a_saved_connection_can_move_to_another_community_without_vk_again(vk, owner, allowed):
    vk.add_group(200010, "Второй магазин", admins=(DEMO_USER_ID,))
    choose(allowed, DEMO_GROUP_ID)
    before = vk.vkid_stats()
    page = allowed.get(COMMUNITIES).content.decode()
    assert "Второй магазин" in page
    assert f'id="community-{DEMO_GROUP_ID}" checked' in page  # the current one is preselected
    response = choose(allowed, 200010)
    assert response["Location"] == PAGE
    connection = VkConnection.objects.get(user=owner)
    assert (connection.group_id, connection.group_name) == (200010, "Второй магазин")
    assert connection.token_kind == VkTokenKind.VK_ID
    assert vk.vkid_stats() == before


def test_a_pasted_community_token_cannot_list_communities_and_says_why(vk, owner, owner_client):
    from connections.vk_services import vk_connection_save

    vk_connection_save(user=owner, group_id=DEMO_GROUP_ID, access_token="vk-demo-group-token")
    page = owner_client.get(COMMUNITIES, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "community token" in page
    response = choose(owner_client, DEMO_GROUP_ID, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "community token" in response.content.decode()


def test_staff_see_how_the_token_came_but_never_the_tokens(vk, owner, allowed, staff):
    choose(allowed, DEMO_GROUP_ID)
    connection = VkConnection.objects.get(user=owner)
    staff_client = Client()
    staff_client.force_login(staff)
    url = reverse("admin:connections_vkconnection_change", args=[connection.pk])
    page = staff_client.get(url).content.decode()
    assert "VK ID" in page
    assert connection.access_token not in page and connection.refresh_token not in page
    listing = staff_client.get(reverse("admin:connections_vkconnection_changelist"))
    assert listing.status_code == 200 and connection.refresh_token not in listing.content.decode()
