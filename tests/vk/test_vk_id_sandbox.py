"""The VK sandbox's VK ID and `groups.get`, over raw HTTP: what VK ID checks, the shapes of its
answers and errors (docs/contracts/vk-market-api.md §13 addendum; RFC 6749 §5.2, RFC 7636), and
the communities list (VK schema groups.get, groups_group_full)."""

from __future__ import annotations

import pytest
import requests
from django.conf import settings

from connections.vk_oauth import code_challenge, new_code_verifier
from evosync.management.commands.run_local import SANDBOX_VK_ID_CLIENT_ID
from sandbox.vk.app import DEMO_EDITOR_GROUP_ID, DEMO_GROUP_ID, DEMO_USER_ID, DEMO_USER_TOKEN
from sandbox.vk.vkid import DEMO_CLIENT_ID
from tests.vk.vk_id import consent, open_consent, query

REDIRECT = "http://127.0.0.1:8000/connections/vk/callback/"


def authorize_url(vk, verifier, **overrides):
    params = {
        "response_type": "code",
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "state": "state-123",
        "code_challenge": code_challenge(verifier),
        "code_challenge_method": "S256",
        "scope": "market photos groups",
        **overrides,
    }
    return requests.Request("GET", f"{vk.public_url}/id/authorize", params=params).prepare().url


def token_request(vk, **data):
    data.setdefault("client_id", DEMO_CLIENT_ID)
    return requests.post(f"{vk.public_url}/id/oauth2/auth", data=data, timeout=10)


def code_for(vk, verifier, **overrides) -> dict[str, str]:
    return query(consent(authorize_url(vk, verifier, **overrides)))


def exchange(vk, verifier, answer, **overrides):
    data = {
        "grant_type": "authorization_code",
        "code": answer["code"],
        "code_verifier": verifier,
        "device_id": answer["device_id"],
        "redirect_uri": REDIRECT,
        "state": "exchange-state",
        **overrides,
    }
    return token_request(vk, **data)


def test_run_local_uses_the_sandboxs_demo_app():
    assert SANDBOX_VK_ID_CLIENT_ID == DEMO_CLIENT_ID


def test_allowing_redirects_back_with_code_state_and_device(vk):
    verifier = new_code_verifier()
    answer = code_for(vk, verifier)
    assert answer["state"] == "state-123" and answer["type"] == "code_v2"
    assert answer["code"] and answer["device_id"] and answer["expires_in"] == "600"


def test_the_code_becomes_tokens_with_the_granted_rights(vk):
    verifier = new_code_verifier()
    body = exchange(vk, verifier, code_for(vk, verifier)).json()
    assert set(body) >= {"access_token", "refresh_token", "id_token", "expires_in", "user_id"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["user_id"] == DEMO_USER_ID and body["state"] == "exchange-state"
    assert set(body["scope"].split()) == {"vkid.personal_info", "market", "photos", "groups"}
    api = requests.post(
        f"{settings.VK_API_URL}/groups.get",
        data={"access_token": body["access_token"], "v": "5.199", "filter": "admin"},
        timeout=10,
    ).json()
    assert api["response"]["items"] == [200001, 200002]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code_verifier": "x" * 43}, "invalid_grant"),  # not the verifier of the challenge
        ({"code_verifier": "short"}, "invalid_request"),
        ({"redirect_uri": "http://127.0.0.1:8000/elsewhere/"}, "invalid_grant"),
        ({"device_id": "another-device"}, "invalid_grant"),
        ({"code": "made-up"}, "invalid_grant"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"client_id": "1"}, "invalid_client"),
    ],
)
def test_the_token_endpoint_refuses_with_oauth_error_bodies(vk, change, error):
    verifier = new_code_verifier()
    response = exchange(vk, verifier, code_for(vk, verifier), **change)
    assert response.status_code in (400, 401)
    body = response.json()
    assert body["error"] == error and body["error_description"]
    assert body["state"] == "exchange-state"
    assert "access_token" not in body


def test_a_code_works_once(vk):
    verifier = new_code_verifier()
    answer = code_for(vk, verifier)
    assert exchange(vk, verifier, answer).status_code == 200
    assert exchange(vk, verifier, answer).json()["error"] == "invalid_grant"


def test_a_refresh_token_gives_new_tokens_once(vk):
    verifier = new_code_verifier()
    answer = code_for(vk, verifier)
    first = exchange(vk, verifier, answer).json()
    data = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "device_id": answer["device_id"],
        "state": "s",
    }
    second = token_request(vk, **data).json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert "id_token" not in second
    assert token_request(vk, **data).json()["error"] == "invalid_grant"  # rotated


def test_a_refresh_token_from_another_device_is_refused(vk):
    verifier = new_code_verifier()
    first = exchange(vk, verifier, code_for(vk, verifier)).json()
    body = token_request(
        vk,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
        device_id="someone-elses",
    ).json()
    assert body["error"] == "invalid_grant"


def test_vk_id_tokens_expire_into_error_5(vk):
    verifier = new_code_verifier()
    token = exchange(vk, verifier, code_for(vk, verifier)).json()["access_token"]
    vk.expire_access_tokens(DEMO_USER_ID)
    body = requests.post(
        f"{settings.VK_API_URL}/market.getAlbums",
        data={"access_token": token, "v": "5.199", "owner_id": -DEMO_GROUP_ID},
        timeout=10,
    ).json()
    assert body["error"]["error_code"] == 5
    assert body["error"]["error_msg"] == "User authorization failed: access_token has expired."


def test_an_app_without_market_approval_gets_fewer_rights(vk):
    vk.register_app(DEMO_CLIENT_ID, "EvoSync", approved=("photos", "groups"))
    verifier = new_code_verifier()
    body = exchange(vk, verifier, code_for(vk, verifier)).json()
    assert "market" not in body["scope"].split()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"state": ""}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
def test_a_bad_authorization_request_goes_back_with_an_error(vk, change, error):
    page = requests.get(
        authorize_url(vk, new_code_verifier(), **change), allow_redirects=False, timeout=10
    )
    assert page.status_code == 302
    assert query(page.headers["Location"])["error"] == error


@pytest.mark.parametrize(
    "change",
    [{"client_id": "1"}, {"redirect_uri": "https://evil.example/callback"}],
)
def test_an_unknown_app_or_foreign_redirect_is_not_redirected_to(vk, change):
    page = requests.get(
        authorize_url(vk, new_code_verifier(), **change), allow_redirects=False, timeout=10
    )
    assert page.status_code == 400 and "Location" not in page.headers


def test_a_registered_redirect_must_match_exactly(vk):
    vk.register_app("777", "Prod", redirect_uris=["https://evosync.example.ru/cb/"], secret="s3")
    url = authorize_url(vk, new_code_verifier(), client_id="777")
    assert requests.get(url, allow_redirects=False, timeout=10).status_code == 400
    url = authorize_url(
        vk, new_code_verifier(), client_id="777", redirect_uri="https://evosync.example.ru/cb/"
    )
    page, form = open_consent(url)
    assert page.status_code == 200 and form.fields["client_id"] == "777"


def test_a_wrong_client_secret_is_refused(vk):
    vk.register_app(DEMO_CLIENT_ID, "EvoSync", secret="right")
    verifier = new_code_verifier()
    response = exchange(vk, verifier, code_for(vk, verifier), client_secret="wrong")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_the_consent_page_lists_the_rights_and_both_buttons(vk):
    page, form = open_consent(authorize_url(vk, new_code_verifier()))
    assert "Разрешить" in page.text and "Отмена" in page.text and "Товары сообществ" in page.text
    assert set(form.buttons) == {"allow", "deny"}
    assert form.fields["user_id"] == str(DEMO_USER_ID)


# --- groups.get ---------------------------------------------------------------------------------


def groups_get(token=DEMO_USER_TOKEN, **params):
    data = {"access_token": token, "v": "5.199", **params}
    return requests.post(f"{settings.VK_API_URL}/groups.get", data=data, timeout=10).json()


def test_groups_get_admin_extended_says_whether_market_is_on(vk):
    body = groups_get(filter="admin", extended=1, fields="market")["response"]
    assert body["count"] == 2
    by_id = {g["id"]: g for g in body["items"]}
    shop = by_id[DEMO_GROUP_ID]
    assert shop["is_admin"] == 1 and shop["admin_level"] == 3 and shop["type"] == "page"
    assert shop["market"]["enabled"] == 1 and shop["market"]["currency"]["id"] == 643
    assert by_id[200002]["market"] == {"enabled": 0}
    assert {"name", "screen_name", "is_closed", "photo_100"} <= set(shop)


def test_groups_get_editor_includes_communities_the_person_only_edits(vk):
    body = groups_get(filter="editor", extended=1)["response"]
    editor = {g["id"]: g for g in body["items"]}[DEMO_EDITOR_GROUP_ID]
    assert editor["is_admin"] == 1 and editor["admin_level"] == 2
    assert "market" not in editor  # only with fields=market


def test_groups_get_without_extended_gives_ids(vk):
    assert groups_get(filter="admin")["response"] == {"count": 2, "items": [200001, 200002]}


def test_groups_get_refuses_a_community_token(vk):
    error = groups_get(token="vk-demo-group-token")["error"]
    assert error["error_code"] == 27


def test_groups_get_needs_the_groups_right(vk):
    vk.add_token("no-groups", user_id=DEMO_USER_ID, scopes=("market", "photos"))
    assert groups_get(token="no-groups")["error"]["error_code"] == 15


def test_groups_get_checks_its_parameters(vk):
    assert groups_get(filter="friends")["error"]["error_code"] == 100
    assert groups_get(count=1001)["error"]["error_code"] == 100
