"""The product → VK item rules (docs/contracts/product.md "How an Evotor product becomes a VK item")."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.plan import rules
from sync.plan import text as text_rules
from sync.plan.rules import PhotoSource, RuleSettings, SourceProduct


def product(**overrides) -> SourceProduct:
    values = dict(
        store_id="S1",
        product_id="0a1b2c3d-0000-4000-8000-00000000abcd",
        name="Молоко 3,2%",
        price=Decimal("89.90"),
        measure_name="шт",
    )
    values.update(overrides)
    return SourceProduct(**values)


PHOTO = PhotoSource("evotor", "evotor:img-1:1", "http://x/img.png")


def test_cp1251_length_counts_characters_outside_cp1251_as_their_html_entity():
    assert rules.cp1251_length("Чай") == 3
    assert rules.cp1251_length("…") == 1  # in cp1251
    assert rules.cp1251_length("☕") == len("&#9749;")
    assert rules.cp1251_length("🍎") == len("&#127822;")


def test_long_name_is_cut_to_100_cp1251_units_with_an_ellipsis():
    name = rules.vk_name(product(name="Очень " * 40))
    assert rules.cp1251_length(name) <= 100
    assert name.endswith("…")


def test_emoji_count_against_the_name_limit():
    name = rules.vk_name(product(name="🍎" * 30))
    assert rules.cp1251_length(name) <= 100
    assert name.count("🍎") == (100 - 1) // len("&#127822;")


def test_short_name_gets_the_unit_added():
    assert rules.vk_name(product(name="Чай", measure_name="шт")) == "Чай, шт"


def test_short_name_without_unit_is_flagged():
    item = rules.desired_item(
        product(name="Ok", measure_name=""), RuleSettings(category_id=1), photo=PHOTO
    )
    assert rules.FLAG_NAME_TOO_SHORT in item.flags


def test_name_loses_html_and_extra_spaces():
    assert rules.vk_name(product(name="  <b>Сыр</b>\t  российский ")) == "Сыр российский"


def test_description_is_evotor_text_without_html():
    text, generated = rules.vk_description(
        product(description="<p>Свежее&nbsp;молоко</p><p>Пастеризованное</p><script>x()</script>"),
        "Молоко",
    )
    assert text == "Свежее молоко\nПастеризованное"
    assert generated is False


def test_description_is_generated_from_name_article_and_unit_when_evotor_has_none():
    text, generated = rules.vk_description(product(article_number="A-17"), "Молоко 3,2%")
    assert generated is True
    assert "Молоко 3,2%" in text and "A-17" in text and "шт" in text
    assert len(text) >= 10


def test_generated_description_always_reaches_ten_characters():
    text, _ = rules.vk_description(product(name="Чай", measure_name=""), "Чай")
    assert len(text) >= 10


@pytest.mark.parametrize(
    ("rounding", "price", "expected"),
    [
        ("none", "123.456", "123.46"),
        ("rouble", "123.50", "124"),
        ("rouble", "123.49", "123"),
        ("ten", "121", "130"),
        ("ten", "120", "120"),
        ("ninety_nine", "1234.50", "1234.99"),
        ("ninety_nine", "100", "99.99"),
        ("ninety_nine", "0.50", "0.99"),
    ],
)
def test_price_rounding(rounding, price, expected):
    assert rules.price_text(rules.round_price(Decimal(price), rounding)) == expected


def test_markup_then_rounding_and_old_price():
    settings = RuleSettings(
        markup_percent=Decimal(10), rounding="rouble", old_price_percent=Decimal(20)
    )
    price, old = rules.vk_prices(Decimal("100"), settings)
    assert price == Decimal(110)
    assert old == Decimal(132)


def test_no_old_price_by_default():
    assert rules.vk_prices(Decimal("100"), RuleSettings())[1] is None


def test_zero_price_is_flagged():
    item = rules.desired_item(product(price=Decimal(0)), RuleSettings(category_id=1), photo=PHOTO)
    assert rules.FLAG_NO_PRICE in item.flags


def test_sku_is_article_else_code_else_evo_id():
    assert rules.base_sku(product(article_number="ART-1", code="77")) == "ART-1"
    assert rules.base_sku(product(code="77")) == "77"
    assert rules.base_sku(product()) == "evo-0a1b2c3d000040008000"
    assert len(rules.base_sku(product())) == len("evo-") + 20


def test_shared_articles_get_unique_skus_and_a_linked_product_keeps_its_own():
    a = product(product_id="aaaaaaaa-1", article_number="X")
    b = product(product_id="bbbbbbbb-2", article_number="X")
    skus = rules.assign_skus([a, b])
    assert skus[a.store_id, a.product_id] == "X"
    assert skus[b.store_id, b.product_id] != "X"
    # b was published first with "X": it keeps it, the newcomer gets the other one.
    skus = rules.assign_skus([a, b], kept={(b.store_id, b.product_id): "X"})
    assert skus[b.store_id, b.product_id] == "X"
    assert skus[a.store_id, a.product_id] != "X"


def test_out_of_stock_or_not_for_sale_is_hidden_unless_policy_keeps_it():
    settings = RuleSettings()
    assert rules.is_visible(product(quantity=Decimal(3)), settings)
    assert rules.is_visible(product(quantity=None), settings)  # stock unknown
    assert not rules.is_visible(product(quantity=Decimal(0)), settings)
    assert not rules.is_visible(product(allow_to_sell=False), settings)
    assert rules.is_visible(product(quantity=Decimal(0)), RuleSettings(out_of_stock_policy="keep"))


def test_missing_category_and_photo_are_flagged():
    item = rules.desired_item(product(), RuleSettings())
    assert set(item.flags) == {rules.FLAG_NO_CATEGORY, rules.FLAG_NO_PHOTO}


def test_unknown_photo_is_not_flagged_yet():
    item = rules.desired_item(product(), RuleSettings(category_id=5), photo_unknown=True)
    assert item.flags == []


def test_album_is_the_direct_group_unless_albums_are_off():
    p = product(group_id="G1", group_name="Молочка")
    assert rules.desired_item(p, RuleSettings(category_id=1), photo=PHOTO).album_title == "Молочка"
    off = RuleSettings(category_id=1, albums_from_groups=False)
    assert rules.desired_item(p, off, photo=PHOTO).album_title == ""


def test_vk_params_clear_old_price_with_zero():
    assert rules.vk_params({"price": "10", "old_price": None}) == {"price": "10", "old_price": 0}


@given(
    st.lists(
        st.sampled_from(
            [
                *"Чай Tea<>&;#/ \t\n\r\u00a0\u2003\x00\x07\x1f\x7f…☕",
                *("<b>", "</p>", "&amp;", "&nbsp;", "<br>", "<script>x</script>"),
            ]
        ),
        max_size=40,
    ).map("".join)
)
def test_clean_line_is_the_split_of_the_stripped_text_whatever_the_input(text):
    # The plain-text fast path must give what the whole HTML path gives.
    assert text_rules.clean_line(text) == " ".join(text_rules.strip_html(text).split())


def test_clean_line_takes_tags_entities_and_control_characters_out():
    assert text_rules.clean_line("  Чай\tзелёный  ") == "Чай зелёный"
    assert text_rules.clean_line("<b>Чай</b> &amp; кофе") == "Чай & кофе"
    assert text_rules.clean_line("Чай\x07 чёрный\nлистовой") == "Чай чёрный листовой"
