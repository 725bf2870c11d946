"""The VK client against the sandbox over real HTTP: every error path of docs/contracts/vk-market-api.md §6–7."""

import logging

import pytest
from django.utils import translation

from connections import vk_errors
from connections.vk_client import VkCall

NAME = "Тестовый товар"
DESCRIPTION = "Описание тестового товара"


def add_params(owner_id, **extra):
    return {
        "owner_id": owner_id,
        "name": NAME,
        "description": DESCRIPTION,
        "category_id": 40001,
        "price": 100,
        **extra,
    }


class Sleeps(list):
    """Records the client's backoff instead of waiting."""

    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


def test_expired_token_raises_auth_error_at_once(vk, client_factory, owner_id):
    vk.revoke_token("vk-demo-token")
    client = client_factory()
    with pytest.raises(vk_errors.VkAuthError) as caught:
        client.call("market.get", owner_id=owner_id)
    assert caught.value.code == 5
    assert caught.value.method == "market.get"
    assert "expired" in caught.value.message
    assert caught.value.stops_run
    assert client.requests_made == 1


def test_unknown_token_is_an_auth_error_too(vk, client_factory, owner_id):
    with pytest.raises(vk_errors.VkAuthError):
        client_factory("not-a-known-token").call("market.get", owner_id=owner_id)


def test_too_many_requests_is_backed_off_and_retried(vk, client_factory, owner_id, sleeps):
    vk.fail(6, count=2)
    client = client_factory(sleep=sleeps)
    answer = client.call("market.get", owner_id=owner_id)
    assert answer == {"count": 0, "items": []}
    assert client.requests_made == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0]


def test_too_many_requests_that_persists_raises_rate_limit_error(
    vk, client_factory, owner_id, sleeps
):
    vk.fail(6)
    client = client_factory(sleep=sleeps)
    with pytest.raises(vk_errors.VkRateLimitError) as caught:
        client.call("market.get", owner_id=owner_id)
    assert caught.value.code == 6
    assert client.requests_made == 5  # the first try and four retries, then it gives up


def test_flood_control_waits_longer_and_then_gives_up(vk, client_factory, owner_id, sleeps):
    vk.fail(6, count=1)
    client = client_factory(sleep=sleeps)
    client.call("market.get", owner_id=owner_id)
    too_many_delay = sleeps[-1]

    vk.fail(9, count=1)
    assert client.call("market.get", owner_id=owner_id)["count"] == 0
    assert sleeps[-1] >= 10 * too_many_delay

    vk.fail(9)
    with pytest.raises(vk_errors.VkRateLimitError) as caught:
        client.call("market.get", owner_id=owner_id)
    assert caught.value.code == 9
    assert len(sleeps) == 4  # 6 once, 9 once, then 9 twice before giving up


def test_writes_refused_by_the_rate_limit_are_repeated_once_accepted(
    vk, client_factory, owner_id, sleeps
):
    # VK refused the request, so nothing was written: repeating it creates exactly one item.
    vk.fail(6, method="market.add", count=1)
    client = client_factory(sleep=sleeps)
    client.call("market.add", **add_params(owner_id))
    assert len(vk.items(-owner_id)) == 1


def test_captcha_stops_at_once_with_its_sid(vk, client_factory, owner_id, sleeps):
    vk.fail(14, captcha_sid="777000")
    client = client_factory(sleep=sleeps)
    with pytest.raises(vk_errors.VkCaptchaError) as caught:
        client.call("market.add", **add_params(owner_id))
    assert caught.value.captcha_sid == "777000"
    assert "sid=777000" in caught.value.captcha_img
    assert client.requests_made == 1 and not sleeps
    assert vk.items(-owner_id) == []


def test_community_token_gets_a_permission_error_naming_the_token_type(
    vk, client_factory, owner_id
):
    with pytest.raises(vk_errors.VkPermissionError) as caught:
        client_factory("vk-demo-group-token").call("market.get", owner_id=owner_id)
    assert caught.value.code == 27
    with translation.override("en"):
        assert "community token" in caught.value.user_message
        assert "user token" in caught.value.user_message


def test_token_without_market_right_gets_a_permission_error_about_rights(
    vk, client_factory, owner_id
):
    vk.add_token("photos-only", user_id=1001, scopes=("photos",))
    with pytest.raises(vk_errors.VkPermissionError) as caught:
        client_factory("photos-only").call("market.get", owner_id=owner_id)
    assert caught.value.code == 15
    with translation.override("en"):
        assert "“market”" in caught.value.user_message


def test_user_who_is_not_an_admin_may_read_but_not_publish(vk, client_factory, owner_id, group_id):
    vk.add_token("stranger", user_id=5005)
    client = client_factory("stranger")
    assert client.call("market.get", owner_id=owner_id)["count"] == 0
    with pytest.raises(vk_errors.VkPermissionError) as caught:
        client.call("market.add", **add_params(owner_id))
    assert caught.value.code == 205
    with pytest.raises(vk_errors.VkPermissionError) as caught:
        client.call("market.getProductPhotoUploadServer", group_id=group_id)
    assert caught.value.code == 7
    with translation.override("en"):
        assert "administrator" in caught.value.user_message


def test_market_switched_off_raises_market_disabled(vk, vk_client):
    with pytest.raises(vk_errors.VkMarketDisabledError) as caught:
        vk_client.call("market.get", owner_id=-200002)
    assert caught.value.code == 1438
    with translation.override("en"):
        assert "turned off" in caught.value.user_message


def test_item_errors_do_not_stop_the_run_and_carry_vks_message(vk, vk_client, owner_id):
    with pytest.raises(vk_errors.VkItemError) as caught:
        vk_client.call("market.add", **add_params(owner_id, name="abc"))
    assert caught.value.code == 100
    assert "name should be at least 4 letters length" in caught.value.message
    assert not caught.value.stops_run
    with pytest.raises(vk_errors.VkItemError) as caught:
        vk_client.call("market.edit", owner_id=owner_id, item_id=999, name=NAME)
    assert caught.value.code == 1403


def test_internal_server_error_is_retried(vk, client_factory, owner_id, sleeps):
    vk.fail(10, count=2)
    client = client_factory(sleep=sleeps)
    assert client.call("market.getAlbums", owner_id=owner_id)["count"] == 0
    assert client.requests_made == 3


def test_internal_server_error_that_persists_raises_unavailable(
    vk, client_factory, owner_id, sleeps, settings
):
    settings.HTTP_MAX_RETRIES = 2
    vk.fail(10)
    client = client_factory(sleep=sleeps)
    with pytest.raises(vk_errors.VkUnavailableError) as caught:
        client.call("market.getAlbums", owner_id=owner_id)
    assert caught.value.code == 10
    assert client.requests_made == 3


def test_gateway_error_on_a_read_is_retried(vk, client_factory, owner_id, sleeps):
    vk.fail(502, count=1)
    client = client_factory(sleep=sleeps)
    assert client.call("market.get", owner_id=owner_id)["count"] == 0
    assert client.requests_made == 2


def test_gateway_error_on_a_write_is_reported_not_repeated(vk, client_factory, owner_id, sleeps):
    vk.fail(502, count=1)
    client = client_factory(sleep=sleeps)
    with pytest.raises(vk_errors.VkUnavailableError) as caught:
        client.call("market.add", **add_params(owner_id))
    assert caught.value.may_have_applied
    assert client.requests_made == 1


def test_read_timeout_is_retried(vk, client_factory, owner_id, sleeps, lost_answers):
    lost_answers.drop("/method/market.getAlbums", count=1)
    client = client_factory(sleep=sleeps)
    assert client.call("market.getAlbums", owner_id=owner_id)["count"] == 0
    assert client.requests_made == 2
    assert vk.requests_by_method["market.getAlbums"] == 2
    assert len(sleeps) == 1


def test_write_whose_answer_is_lost_is_reported_and_never_repeated(
    vk, client_factory, owner_id, sleeps, lost_answers
):
    lost_answers.drop("/method/market.add", count=1)
    client = client_factory(sleep=sleeps)
    with pytest.raises(vk_errors.VkUnavailableError) as caught:
        client.call("market.add", **add_params(owner_id))
    assert caught.value.may_have_applied
    assert client.requests_made == 1
    assert vk.requests_by_method["market.add"] == 1
    # VK did create the item: the publisher must look before it tries again.
    assert len(vk.items(-owner_id)) == 1
    assert not sleeps


def test_a_write_inside_execute_whose_answer_is_lost_is_not_repeated(
    vk, client_factory, owner_id, sleeps, lost_answers
):
    lost_answers.drop("/method/execute", count=1)
    client = client_factory(sleep=sleeps)
    with pytest.raises(vk_errors.VkUnavailableError) as caught:
        client.execute([VkCall("market.add", add_params(owner_id))])
    assert caught.value.may_have_applied
    assert vk.requests_by_method["execute"] == 1
    assert len(vk.items(-owner_id)) == 1


@pytest.mark.parametrize("how", ["disconnect", "truncated"])
def test_a_write_inside_execute_whose_connection_drops_is_not_repeated(
    vk, client_factory, owner_id, sleeps, lost_answers, how
):
    """A connection closed after the request went out ("Connection aborted.", or an answer
    broken off half-way) may hide a write that went through: reported as possibly applied,
    never sent again (issue 13)."""
    lost_answers.drop("/method/execute", count=1, how=how)
    client = client_factory(sleep=sleeps)
    with pytest.raises(vk_errors.VkUnavailableError) as caught:
        client.execute([VkCall("market.add", add_params(owner_id))])
    assert caught.value.may_have_applied
    assert vk.requests_by_method["execute"] == 1
    assert len(vk.items(-owner_id)) == 1
    assert not sleeps


def test_a_read_whose_connection_drops_is_retried(
    vk, client_factory, owner_id, sleeps, lost_answers
):
    lost_answers.drop("/method/market.getAlbums", count=1, how="disconnect")
    client = client_factory(sleep=sleeps)
    assert client.call("market.getAlbums", owner_id=owner_id)["count"] == 0
    assert vk.requests_by_method["market.getAlbums"] == 2
    assert len(sleeps) == 1


def test_connection_refused_is_retried_then_unavailable(db, settings, sleeps):
    from connections.vk_client import VkClient
    from connections.vk_rate_limit import LocalRateLimiter

    settings.HTTP_MAX_RETRIES = 1
    client = VkClient(
        "vk-demo-token",
        base_url="http://127.0.0.1:9/method",
        rate_limiter=LocalRateLimiter(requests_per_second=1000),
        sleep=sleeps,
    )
    with pytest.raises(vk_errors.VkUnavailableError) as caught:
        client.call("market.add", owner_id=-1)
    assert not caught.value.may_have_applied  # nothing reached VK: safe to try later
    assert client.requests_made == 2


def test_token_never_appears_in_errors_or_logs(vk, client_factory, owner_id, caplog, sleeps):
    secret = "vk1.a.VerySecretTokenValue"
    vk.add_token(secret, user_id=1001)
    vk.fail(6, count=1)
    client = client_factory(secret, sleep=sleeps)
    with caplog.at_level(logging.DEBUG):
        client.call("market.get", owner_id=owner_id)
        vk.revoke_token(secret)
        with pytest.raises(vk_errors.VkAuthError) as caught:
            client.call("market.get", owner_id=owner_id)
    assert secret not in str(caught.value) and secret not in repr(client)
    assert all(secret not in str(param) for param in caught.value.request_params)
    assert secret not in caplog.text
