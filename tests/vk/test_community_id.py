"""What merchants paste as their community and their token."""

import pytest

from connections.vk_services import (
    CommunityIdError,
    ScreenNameGiven,
    clean_access_token,
    parse_community_id,
)


@pytest.mark.parametrize(
    "text",
    [
        "123",
        " 123 ",
        "-123",
        "club123",
        "Club123",
        "public123",
        "event123",
        "https://vk.com/club123",
        "http://vk.com/public123/",
        "vk.com/public123",
        "https://m.vk.com/club123?from=groups",
        "https://vk.ru/club123",
        "www.vk.com/club123",
        "https://vk.com/market-123?w=product-123_45",
        "https://vk.com/public123#wall",
    ],
)
def test_community_id_accepts_numbers_prefixes_and_vk_addresses(text):
    assert parse_community_id(text) == 123


@pytest.mark.parametrize("text", ["vk.com/myshop", "https://vk.com/demo_shop", "my.shop"])
def test_short_names_are_recognised_for_a_lookup(text):
    with pytest.raises(ScreenNameGiven) as caught:
        parse_community_id(text)
    assert caught.value.screen_name == text.rsplit("/", 1)[-1]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "0",
        "club0",
        "https://example.com/club123",
        "https://vk.com/",
        "id123",
        "https://vk.com/id123",
        "магазин",
        "12 34",
        "1" * 20,
    ],
)
def test_community_id_refuses_everything_else_with_a_clear_error(text):
    with pytest.raises(CommunityIdError) as caught:
        parse_community_id(text)
    assert not isinstance(caught.value, ScreenNameGiven)
    assert str(caught.value)


def test_access_token_is_taken_from_the_address_vk_redirects_to():
    pasted = (
        "https://oauth.vk.com/blank.html#access_token=vk1.a.SecretValue_123"
        "&expires_in=0&user_id=1001"
    )
    assert clean_access_token(pasted) == "vk1.a.SecretValue_123"
    assert clean_access_token("  vk1.a.SecretValue_123\n") == "vk1.a.SecretValue_123"


@pytest.mark.parametrize("text", ["", "short", "has spaces inside it", "токен-по-русски-длинный"])
def test_access_token_refuses_what_cannot_be_a_token(text):
    with pytest.raises(ValueError):
        clean_access_token(text)
