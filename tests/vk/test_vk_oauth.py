"""connections.vk_oauth at the edge: PKCE as RFC 7636 defines it, the authorization address, and
the token endpoint's answers turned into `VkIdTokens` or typed errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from connections import vk_oauth

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_the_s256_challenge_matches_rfc_7636_appendix_b():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert vk_oauth.code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_verifiers_are_long_random_and_use_only_allowed_characters():
    verifiers = {vk_oauth.new_code_verifier() for _ in range(20)}
    assert len(verifiers) == 20
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43,128}", v) for v in verifiers)


def test_the_authorization_address_comes_from_the_settings(settings):
    settings.VK_ID_URL = "https://id.vk.com"
    settings.VK_ID_CLIENT_ID = "54321"
    settings.VK_ID_SCOPE = "market photos groups"
    url = vk_oauth.authorize_url(state="st", verifier="v" * 43, redirect_uri="https://e.ru/cb/")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "id.vk.com", "/authorize")
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert params == {
        "response_type": "code",
        "client_id": "54321",
        "redirect_uri": "https://e.ru/cb/",
        "state": "st",
        "code_challenge": vk_oauth.code_challenge("v" * 43),
        "code_challenge_method": "S256",
        "scope": "market photos groups",
    }


def test_a_token_answer_is_parsed_with_its_expiry_and_rights():
    tokens = vk_oauth.parse_tokens(
        {
            "access_token": "secret-access",
            "refresh_token": "secret-refresh",
            "expires_in": 3600,
            "user_id": 1234,
            "scope": "market photos",
        },
        now=NOW,
    )
    assert tokens.expires_at == NOW + timedelta(hours=1)
    assert tokens.user_id == 1234 and tokens.scopes == {"market", "photos"}
    assert tokens.missing_scopes == frozenset()
    assert "secret-" not in repr(tokens)  # tokens stay out of reprs and so out of logs


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"access_token": "a", "scope": "market,photos"}, {"market", "photos"}),
        ({"access_token": "a"}, set()),
    ],
)
def test_rights_separated_by_commas_or_missing_are_understood(body, expected):
    tokens = vk_oauth.parse_tokens(body, now=NOW)
    assert tokens.scopes == expected
    assert tokens.expires_at == NOW + timedelta(seconds=vk_oauth.DEFAULT_LIFETIME_SECONDS)


def test_a_strange_user_id_or_lifetime_does_not_break_parsing():
    tokens = vk_oauth.parse_tokens(
        {"access_token": "a", "user_id": "x", "expires_in": "soon"}, now=NOW
    )
    assert tokens.user_id is None and tokens.expires_at > NOW


def test_tokens_survive_the_round_trip_through_the_session_form():
    tokens = vk_oauth.parse_tokens(
        {"access_token": "a", "refresh_token": "r", "user_id": 5, "scope": "market"}, now=NOW
    )
    assert vk_oauth.VkIdTokens.from_dict(tokens.as_dict()) == tokens


def test_an_oauth_error_is_typed_and_says_whether_only_a_new_consent_helps(vk):
    with pytest.raises(vk_oauth.VkIdError) as raised:
        vk_oauth.refresh(refresh_token="dead", device_id="d")
    assert raised.value.error == "invalid_grant" and raised.value.grant_dead
    assert "dead" not in str(raised.value)
    assert not isinstance(raised.value, vk_oauth.VkIdUnavailable)


def test_an_answer_that_is_not_json_is_unavailable(vk, settings):
    settings.VK_ID_URL = f"{vk.public_url}/photo"  # answers a JPEG to anything
    with pytest.raises(vk_oauth.VkIdUnavailable):
        vk_oauth.refresh(refresh_token="r", device_id="d")


def test_an_unreachable_vk_id_is_unavailable(settings):
    settings.HTTP_MAX_RETRIES = 0
    settings.VK_ID_URL = "http://127.0.0.1:9"
    with pytest.raises(vk_oauth.VkIdUnavailable) as raised:
        vk_oauth.exchange_code(code="c", verifier="v" * 43, device_id="d", redirect_uri="x")
    assert not raised.value.grant_dead
