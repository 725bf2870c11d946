"""Adoption evidence (sync.plan.adoption): only strong evidence adopts a VK item at once."""

from decimal import Decimal

import pytest

from sync.models import AdoptionVerdict
from sync.plan.adoption import REVIEW, STRONG, match_adoptions, name_similarity, sku_distinctive
from sync.plan.planner import build_plan
from sync.plan.snapshots import VkItemSnapshot

from .test_planner import SETTINGS, desired, product


@pytest.mark.parametrize(
    "sku,expected",
    [
        ("1", False),
        ("12345", False),
        ("000001", False),
        ("111111", False),
        ("aaaaaaa", False),
        ("460123", True),
        ("TEA-2024", True),
        ("Кофе-250г", True),
    ],
)
def test_a_sku_is_distinctive_when_long_and_not_a_small_number(sku, expected):
    assert sku_distinctive(sku) is expected


def test_names_with_no_word_in_common_are_not_similar():
    assert name_similarity("Американо 250 мл", "Нектар вишнёвый «Добрый» 0,2 л") == 0


def test_names_sharing_most_words_are_similar():
    assert name_similarity("Нектар вишнёвый «Добрый» 0,2 л", "нектар вишневый добрый") == 1


def test_a_short_article_on_two_unrelated_names_adopts_nothing():
    # Issue 12: «Нектар вишнёвый» matched «Американо 250 мл» because both had article "1".
    items = desired(product("juice", name="Нектар вишнёвый «Добрый» 0,2 л", article_number="1"))
    vk = [VkItemSnapshot(vk_id=9, title="Американо 250 мл", sku="1", price=Decimal(256))]
    plan = build_plan(desired=items, links=[], settings=SETTINGS, vk_items=vk)
    assert plan.adoptions == [] and plan.adoption_reviews == []
    assert plan.counts["create"] == 1


def test_a_short_article_with_a_similar_name_waits_for_review():
    items = desired(product("juice", name="Нектар вишнёвый «Добрый» 0,2 л", article_number="1"))
    vk = [VkItemSnapshot(vk_id=9, title="Нектар вишнёвый Добрый", sku="1")]
    (match,) = match_adoptions(items, vk).values()
    assert (match.strength, match.evidence) == (REVIEW, "sku")


def test_a_distinctive_sku_with_a_different_name_waits_for_review():
    items = desired(product("juice", name="Нектар вишнёвый", article_number="NEK-CHERRY-02"))
    vk = [VkItemSnapshot(vk_id=9, title="Американо", sku="NEK-CHERRY-02")]
    (match,) = match_adoptions(items, vk).values()
    assert match.strength == REVIEW


def test_a_barcode_and_a_similar_name_adopt_at_once():
    items = desired(
        product("juice", name="Нектар вишнёвый", article_number="1", barcodes=("4600000000017",))
    )
    vk = [VkItemSnapshot(vk_id=9, title="Нектар вишнёвый, 0,2 л", sku="4600000000017")]
    (match,) = match_adoptions(items, vk).values()
    assert (match.strength, match.evidence, match.vk.vk_id) == (STRONG, "barcode", 9)


def test_a_confirmed_match_is_adopted_and_a_rejected_one_created():
    items = desired(product("p1", name="Кофе молотый"), product("p2", name="Сок яблочный"))
    vk = [
        VkItemSnapshot(vk_id=1, title="Кофе молотый", price=Decimal(5)),
        VkItemSnapshot(vk_id=2, title="Сок яблочный", price=Decimal(5)),
    ]
    decisions = {
        ("S", "p1"): (1, AdoptionVerdict.CONFIRMED),
        ("S", "p2"): (2, AdoptionVerdict.REJECTED),
    }
    plan = build_plan(
        desired=items, links=[], settings=SETTINGS, vk_items=vk, adoption_decisions=decisions
    )
    assert [(i.product_id, i.vk_item_id) for i in plan.adoptions] == [("p1", 1)]
    assert plan.adoption_reviews == []
    assert [i.product_id for i in plan.items if i.action == "create"] == ["p2"]


def test_an_answer_about_another_vk_item_asks_again():
    items = desired(product("p1", name="Кофе молотый"))
    vk = [VkItemSnapshot(vk_id=3, title="Кофе молотый")]
    plan = build_plan(
        desired=items,
        links=[],
        settings=SETTINGS,
        vk_items=vk,
        adoption_decisions={("S", "p1"): (1, AdoptionVerdict.REJECTED)},
    )
    assert [r.vk.vk_id for r in plan.adoption_reviews] == [3]
    assert plan.items == []


def test_no_album_is_planned_for_a_group_none_of_whose_items_can_be_published():
    items = desired(product("p1"), product("p2", group_id="G2", group_name="Соки", price="0"))
    plan = build_plan(desired=items, links=[], settings=SETTINGS)
    assert [a.title for a in plan.albums_to_create] == ["Напитки"]
    assert plan.albums_not_created == ["Соки"]


def test_without_a_category_no_album_is_planned():
    from sync.plan.rules import RuleSettings

    items = desired(product("p1"), settings=RuleSettings(category_id=None))
    plan = build_plan(desired=items, links=[], settings=RuleSettings(category_id=None))
    assert plan.albums_to_create == [] and plan.counts["skipped"] == 1
