"""The VK connection pages and services (/connections/vk/)."""

import logging

import pytest
from django.urls import reverse
from django.utils.html import escape

from connections import vk_errors
from connections.models import ConnectionState, VkConnection
from connections.vk_services import (
    vk_connection_mark_broken,
    vk_connection_mark_ok,
    vk_connection_record_error,
    vk_connection_save,
)

PAGE = reverse("connections:vk")
SAVE = reverse("connections:vk_save")
TEST = reverse("connections:vk_test")
DISCONNECT = reverse("connections:vk_disconnect")
SECRET = "vk1.a.Owner-Secret-Token-123456"
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def connected(vk, owner):
    """The owner's token and community saved (a token the sandbox knows), not checked yet."""
    vk.add_token(SECRET, user_id=1001)
    return vk_connection_save(user=owner, group_id=200001, access_token=SECRET)


@pytest.fixture
def worked(connected):
    """The same connection, checked once: its token has worked."""
    vk_connection_mark_ok(connected)
    return connected


def raw_token_column(connection) -> str:
    from django.db import connection as db

    with db.cursor() as cursor:
        cursor.execute(
            "SELECT access_token FROM connections_vkconnection WHERE id = %s", [connection.pk]
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    ("url", "method"),
    [(PAGE, "get"), (SAVE, "post"), (TEST, "post"), (DISCONNECT, "get"), (DISCONNECT, "post")],
)
def test_anonymous_visitors_are_sent_to_log_in(client, db, url, method):
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_page_for_a_merchant_without_a_connection(owner_client):
    response = owner_client.get(PAGE)
    assert response.status_code == 200
    assert b'id="vk-status"' in response.content
    assert reverse("connections:vk_test").encode() not in response.content


def test_save_checks_then_stores_the_token_encrypted_and_the_community_as_a_number(
    vk, owner, owner_client
):
    vk.add_token(SECRET, user_id=1001)
    response = owner_client.post(
        SAVE, {"access_token": SECRET, "community": "https://vk.com/club200001"}, follow=True
    )
    assert response.redirect_chain == [(PAGE, 302)]
    connection = VkConnection.objects.get(user=owner)
    assert connection.access_token == SECRET and connection.group_id == 200001
    assert connection.state == ConnectionState.OK and connection.last_checked_at
    assert connection.token_verified_at and connection.group_name == "Демо-магазин"
    assert SECRET not in raw_token_column(connection)
    page = response.content.decode()
    assert SECRET not in page and connection.masked_token in page
    assert "vk.com/club200001" in page
    (message,) = [str(m) for m in response.context["messages"]]
    assert "Демо-магазин" in message  # one message: the check's outcome, no "saved" before it


def test_a_token_vk_refuses_is_called_mistyped_and_not_saved(vk, owner, owner_client):
    response = owner_client.post(
        SAVE, {"access_token": SECRET, "community": "200001"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    (error,) = response.context["form"].errors["access_token"]
    assert "mistyped" in error and "withdrawn" not in error
    assert response.content.decode().count(error) == 1
    assert not VkConnection.objects.filter(user=owner).exists()


@pytest.mark.parametrize(
    ("setup", "community", "expected"),
    [
        (lambda vk: None, "vk-demo-group-token", "community token"),
        (lambda vk: vk.set_market_enabled(200001, False), SECRET, "turned off"),
        (lambda vk: vk.add_group(200001, "Чужой магазин", admins=(9,)), SECRET, "administrator"),
        (lambda vk: vk.api.groups.pop(200001), SECRET, "no community"),
    ],
)
def test_a_wrong_community_or_token_is_explained_before_saving(
    vk, owner, owner_client, setup, community, expected
):
    vk.add_token(SECRET, user_id=1001)
    setup(vk)
    response = owner_client.post(
        SAVE, {"access_token": community, "community": "200001"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert expected in response.content.decode()
    assert not VkConnection.objects.filter(user=owner).exists()


def test_a_busy_vk_saves_unchecked_and_says_so_once(vk, owner, owner_client, settings):
    settings.HTTP_MAX_RETRIES = 0
    vk.add_token(SECRET, user_id=1001)
    vk.fail(10, count=1)
    response = owner_client.post(SAVE, {"access_token": SECRET, "community": "200001"}, follow=True)
    connection = VkConnection.objects.get(user=owner)
    assert connection.state == ConnectionState.OK and connection.last_checked_at is None
    (message,) = response.context["messages"]
    assert message.level_tag == "warning"
    page = response.content.decode()
    assert "Не проверено" in page and "badge-ok" not in page


def test_save_resolves_a_short_address_through_vk(vk, owner, owner_client):
    owner_client.post(SAVE, {"access_token": "vk-demo-token", "community": "vk.com/demo_shop"})
    assert VkConnection.objects.get(user=owner).group_id == 200001


def test_unknown_short_address_is_a_form_error(vk, owner, owner_client):
    response = owner_client.post(
        SAVE, {"access_token": "vk-demo-token", "community": "vk.com/nobody_here"}
    )
    assert response.status_code == 400
    assert "nobody_here" in response.context["form"].errors["community"][0]
    assert not VkConnection.objects.filter(user=owner).exists()


def test_short_address_with_a_dead_token_asks_for_the_number(vk, owner, owner_client):
    vk.add_token(SECRET, user_id=1001)
    vk.revoke_token(SECRET)
    response = owner_client.post(
        SAVE, {"access_token": SECRET, "community": "vk.com/demo_shop"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "Enter the number" in response.context["form"].errors["community"][0]
    assert not VkConnection.objects.filter(user=owner).exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"access_token": SECRET, "community": "https://example.com/club1"}, "community"),
        ({"access_token": SECRET, "community": ""}, "community"),
        ({"access_token": "has spaces in it", "community": "200001"}, "access_token"),
        ({"access_token": "", "community": "200001"}, "access_token"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(vk, owner, owner_client, data, field):
    response = owner_client.post(SAVE, data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert not VkConnection.objects.filter(user=owner).exists()


def test_bad_input_keeps_the_saved_values(connected, owner, owner_client):
    response = owner_client.post(
        SAVE, {"access_token": "new token with spaces", "community": "club7"}
    )
    assert response.status_code == 400
    connection = VkConnection.objects.get(user=owner)
    assert (connection.access_token, connection.group_id) == (SECRET, 200001)


def test_empty_token_keeps_the_saved_one_for_a_new_community(connected, vk, owner, owner_client):
    vk.add_group(200010, "Второй магазин", admins=(1001,))
    vk_connection_mark_broken(connected, "old problem")
    owner_client.post(SAVE, {"access_token": "", "community": "-200010"})
    connection = VkConnection.objects.get(user=owner)
    assert (connection.access_token, connection.group_id) == (SECRET, 200010)
    assert connection.state == ConnectionState.OK and connection.last_error == ""
    assert connection.group_name == "Второй магазин" and connection.last_checked_at


def test_a_new_community_with_market_off_keeps_the_old_one(connected, owner, owner_client):
    response = owner_client.post(SAVE, {"access_token": "", "community": "-200002"})
    assert response.status_code == 400
    assert VkConnection.objects.get(user=owner).group_id == 200001


def test_a_saved_but_never_checked_connection_is_not_green(connected, owner_client):
    page = owner_client.get(PAGE, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Не проверено" in page and "badge-ok" not in page and "Работает" not in page


def test_htmx_check_gets_the_state_block_and_the_result_line(connected, owner_client):
    html = owner_client.post(TEST, HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<div id="vk-status">')
    assert 'id="vk-test-result" class="result badge badge-ok"' in html
    assert 'hx-swap-oob="true"' in html and "Демо-магазин" in html


def test_check_answers_json_and_records_the_community_name(connected, owner, owner_client):
    response = owner_client.post(TEST, **JSON)
    data = response.json()
    assert data["ok"] is True
    assert "Демо-магазин" in data["message"] and 'id="vk-status"' in data["html"]
    connection = VkConnection.objects.get(user=owner)
    assert connection.group_name == "Демо-магазин"
    assert connection.state == ConnectionState.OK and connection.last_checked_at


def test_check_without_javascript_redirects_with_a_message(connected, owner_client):
    response = owner_client.post(TEST, follow=True)
    assert response.redirect_chain == [(PAGE, 302)]
    (message,) = response.context["messages"]
    assert "Демо-магазин" in str(message)


def test_check_explains_a_community_token_once(vk, owner, owner_client):
    vk_connection_save(user=owner, group_id=200001, access_token="vk-demo-group-token")
    data = owner_client.post(TEST, HTTP_ACCEPT_LANGUAGE="ru", **JSON).json()
    assert data["ok"] is False
    connection = VkConnection.objects.get(user=owner)
    assert connection.state == ConnectionState.BROKEN
    assert "ключ сообщества" in connection.last_error and "market" in connection.last_error
    # The reason is in the state block, and not repeated next to the button.
    assert data["message"] == "" and data["html"].count(connection.last_error) == 1


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda vk: vk.revoke_token(SECRET), "withdrawn"),
        (lambda vk: vk.set_market_enabled(200001, False), "turned off"),
        (lambda vk: vk.add_group(200001, "Чужой магазин", admins=(9,)), "administrator"),
        (lambda vk: vk.add_token(SECRET, user_id=1001, scopes=("photos",)), "rights"),
        (lambda vk: vk.api.groups.pop(200001), "no community"),
    ],
)
def test_check_marks_the_connection_broken_with_the_reason(
    worked, vk, owner, owner_client, setup, expected
):
    setup(vk)
    data = owner_client.post(TEST, HTTP_ACCEPT_LANGUAGE="en", **JSON).json()
    assert data["ok"] is False and data["message"] == ""
    connection = VkConnection.objects.get(user=owner)
    assert connection.state == ConnectionState.BROKEN and expected in connection.last_error
    assert expected in data["html"]


def test_a_token_that_never_worked_is_called_mistyped_not_revoked(
    connected, vk, owner, owner_client
):
    vk.revoke_token(SECRET)
    owner_client.post(TEST, HTTP_ACCEPT_LANGUAGE="en", **JSON)
    error = VkConnection.objects.get(user=owner).last_error
    assert "mistyped" in error and "withdrawn" not in error


def test_a_failed_check_without_javascript_shows_the_reason_once(worked, vk, owner, owner_client):
    vk.revoke_token(SECRET)
    response = owner_client.post(TEST, follow=True)
    assert list(response.context["messages"]) == []
    error = VkConnection.objects.get(user=owner).last_error
    assert response.content.decode().count(escape(error)) == 1


def test_check_leaves_the_state_alone_when_vk_is_only_busy(
    connected, vk, owner, owner_client, settings
):
    settings.HTTP_MAX_RETRIES = 0
    vk.fail(10)
    data = owner_client.post(TEST, **JSON).json()
    assert data["ok"] is False
    assert VkConnection.objects.get(user=owner).state == ConnectionState.OK


def test_a_passing_check_repairs_a_broken_connection(connected, owner, owner_client):
    vk_connection_mark_broken(connected, "Токен отозван")
    assert owner_client.post(TEST, **JSON).json()["ok"] is True
    connection = VkConnection.objects.get(user=owner)
    assert connection.state == ConnectionState.OK and connection.last_error == ""


def test_check_without_a_connection_says_what_to_do(vk, owner_client):
    data = owner_client.post(TEST, **JSON).json()
    assert data["ok"] is False and data["message"]


def test_disconnect_asks_first_then_forgets_token_and_cached_catalog(
    connected, owner, owner_client
):
    from vk_catalog.models import VkCachedAlbum

    VkCachedAlbum.objects.create(
        user=owner, vk_id=1, owner_id=-200001, title="Выпечка", content_hash="x"
    )
    page = owner_client.get(DISCONNECT)
    assert page.status_code == 200 and b"200001" in page.content
    assert VkConnection.objects.get(user=owner).access_token == SECRET
    response = owner_client.post(DISCONNECT)
    assert response.status_code == 302 and response["Location"] == PAGE
    connection = VkConnection.objects.get(user=owner)
    assert (connection.access_token, connection.group_id, connection.group_name) == ("", None, "")
    assert not VkCachedAlbum.objects.filter(user=owner).exists()
    assert owner_client.get(DISCONNECT)["Location"] == PAGE  # nothing left to disconnect


def test_other_merchants_act_only_on_their_own_connection(connected, owner, other_merchant, client):
    client.force_login(other_merchant)
    page = client.get(PAGE).content.decode()
    assert connected.masked_token not in page and "200001" not in page
    client.post(DISCONNECT)
    client.post(TEST, **JSON)
    client.post(SAVE, {"access_token": "vk-demo-token", "community": "200001"})
    mine = VkConnection.objects.get(user=owner)
    assert (mine.access_token, mine.group_id, mine.state) == (SECRET, 200001, ConnectionState.OK)
    theirs = VkConnection.objects.get(user=other_merchant)
    assert (theirs.access_token, theirs.group_id) == ("vk-demo-token", 200001)


def test_token_never_reaches_the_logs(vk, owner, owner_client, caplog):
    with caplog.at_level(logging.DEBUG):
        owner_client.post(SAVE, {"access_token": SECRET, "community": "200001"})
        vk.add_token(SECRET, user_id=1001)
        owner_client.post(TEST, **JSON)
    assert SECRET not in caplog.text


def test_services_mark_broken_and_ok_for_other_apps(connected):
    assert vk_connection_record_error(connected, vk_errors.VkAuthError(5, "expired"))
    connected.refresh_from_db()
    assert connected.state == ConnectionState.BROKEN and connected.last_error
    assert not vk_connection_record_error(connected, vk_errors.VkItemError(100, "bad name"))
    vk_connection_mark_ok(connection=connected)
    connected.refresh_from_db()
    assert connected.state == ConnectionState.OK and connected.last_error == ""
    connected.state = ConnectionState.DISABLED
    connected.save()
    vk_connection_mark_ok(connected)
    vk_connection_mark_broken(connection=connected, message="x")
    connected.refresh_from_db()
    assert connected.state == ConnectionState.DISABLED  # staff's decision stands
