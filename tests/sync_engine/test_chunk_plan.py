"""A whole plan built a chunk at a time within a budget (sync/plan/chunk_plan.py), as a run
builds it: with chunks of two products it plans what the plan in one piece plans (items, skus,
albums, adoptions), and within a budget it holds only the first items and counts the rest."""

from __future__ import annotations

import pytest

from sync.models import ItemLink, RunAction
from sync.plan.chunk_plan import plan_in_chunks, survey_catalog
from sync.plan.inputs import load_inputs, plan_from_inputs
from sync.plan.item_budget import ItemBudget
from sync.plan.plan import PlanItem


@pytest.fixture
def small_chunks(settings):
    settings.SYNC_PLAN_CHUNK = 2


def in_chunks(user, budget=None, **kwargs):
    plan, links = plan_in_chunks(
        survey_catalog(user), budget=budget or ItemBudget(), stamp=False, **kwargs
    )
    return plan, links


def in_one_piece(user, **kwargs):
    return plan_from_inputs(load_inputs(user), **kwargs)


def described(plan) -> list[tuple]:
    return [
        (item.key, item.action, item.sku, tuple(item.flags), sorted(item.send_fields.items()))
        for item in plan.items
    ]


def item(action: RunAction, name: str, *, flags=()) -> PlanItem:
    return PlanItem(
        action=action, store_id="S", product_id=name, product_name=name, flags=list(flags)
    )


def test_a_budget_holds_the_first_items_in_plan_order_and_counts_the_rest():
    budget = ItemBudget(2)
    for planned in (
        item(RunAction.UPDATE, "Чай"),
        item(RunAction.CREATE, "Сок"),
        item(RunAction.HIDE, "Булка"),
        item(RunAction.CREATE, "Кофе"),
        item(RunAction.CREATE, "Пирог", flags=["no_photo"]),
    ):
        budget.add(planned)
    assert [(i.action, i.product_name) for i in budget.items()] == [
        (RunAction.CREATE, "Кофе"),
        (RunAction.CREATE, "Пирог"),  # skipped: held, not counted against the budget
        (RunAction.CREATE, "Сок"),
    ]
    assert (budget.not_held[RunAction.UPDATE], budget.not_held[RunAction.HIDE]) == (1, 1)


def test_a_budget_keeps_equal_names_in_the_order_they_came():
    budget = ItemBudget(2)
    first, second, third = (item(RunAction.CREATE, "Чай") for _ in range(3))
    for planned in (first, second, third):
        budget.add(planned)
    assert [id(i) for i in budget.items()] == [id(first), id(second)]


def test_a_first_publish_in_chunks_plans_what_the_plan_in_one_piece_plans(shop, small_chunks):
    whole = in_one_piece(shop.user)
    chunked, links = in_chunks(shop.user)
    assert described(chunked) == described(whole)
    assert chunked.counts == whole.counts
    assert [a.title for a in chunked.albums_to_create] == [a.title for a in whole.albums_to_create]
    assert links == {}  # nothing published yet


def test_a_settings_change_in_chunks_plans_every_update_as_in_one_piece(shop, small_chunks):
    shop.sync()
    shop.sync()  # stamps the links
    shop.configure(price_markup_percent=10)
    whole = in_one_piece(shop.user)
    chunked, links = in_chunks(shop.user)
    assert whole.counts["update"] == 5
    assert described(chunked) == described(whole)
    assert set(links) == {i.key for i in chunked.items}


def test_a_run_budget_holds_the_first_items_and_counts_the_whole_plan(shop, small_chunks):
    whole = in_one_piece(shop.user)
    chunked, _links = in_chunks(shop.user, ItemBudget(2))
    assert [i.key for i in chunked.items] == [i.key for i in whole.items[:2]]
    assert (chunked.total, chunked.counts["create"]) == (5, 5)
    assert chunked.summary() == whole.summary()


def test_shared_articles_in_chunks_get_the_skus_the_plan_in_one_piece_gives(shop, small_chunks):
    shop.sync()
    shop.sync()
    # A newcomer with the tea's article (the tea is skipped: its sku is reserved), and two
    # newcomers sharing one article between them.
    shop.add("tea2", "Чай зелёный", article_number="ART-tea")
    shop.add("cake", "Торт медовый", article_number="ART-SAME")
    shop.add("cake2", "Торт шоколадный", article_number="art-same")
    shop.refresh()
    whole = in_one_piece(shop.user)
    chunked, _links = in_chunks(shop.user)
    assert described(chunked) == described(whole)
    skus = [i.sku.lower() for i in chunked.items] + [
        link.sku.lower() for link in ItemLink.objects.filter(user=shop.user)
    ]
    assert len(skus) == len(set(skus))


def test_adoptions_in_chunks_are_the_adoptions_in_one_piece(shop, small_chunks):
    from connections.models import VkConnection
    from sync.clients import vk_client_for
    from sync.publish.recovery import read_vk

    shop.sync()
    ItemLink.objects.filter(user=shop.user).delete()  # links lost: VK's items are adopted
    connection = VkConnection.objects.get(user=shop.user)
    vk_items, vk_albums = read_vk(vk_client_for(connection), connection.owner_id)
    whole = in_one_piece(shop.user, vk_items=vk_items, vk_albums=vk_albums)
    chunked, _links = in_chunks(shop.user, vk_items=vk_items, vk_albums=vk_albums)
    assert len(whole.adoptions) == 5
    assert described(chunked) == described(whole)
    assert [i.vk_item_id for i in chunked.items] == [i.vk_item_id for i in whole.items]


def test_only_products_whose_base_sku_something_else_wants_are_contested():
    from sync.plan.rules import SourceProduct
    from sync.plan.sku_survey import SkuSurvey

    survey = SkuSurvey()
    for number, article in enumerate(["A-1", "B-2", "a-1", "C-3", "D-4"]):
        product = SourceProduct(
            store_id="S", product_id=f"p{number}", name="", article_number=article
        )
        survey.add_product(product, "D-4-OLD" if number == 1 else "")
    survey.add_reserved("c-3")  # a skipped product's link carries it
    survey.add_reserved("d-4-old")
    # A-1 twice (any case), C-3 reserved; B-2 only kept its old sku, which another link holds.
    assert survey.contested() == [0, 2, 3]


def test_a_product_whose_article_changed_after_the_survey_takes_its_own_fallback_sku(
    shop, small_chunks
):
    from catalog.models import CachedProduct

    survey = survey_catalog(shop.user)
    # A catalog read between the survey and the plan gives the juice the tea's article.
    CachedProduct.objects.filter(user=shop.user, evotor_id=shop.products["juice"]).update(
        article_number="ART-tea"
    )
    plan, _links = plan_in_chunks(survey, budget=ItemBudget(), stamp=False)
    skus = {i.product_id: i.sku for i in plan.items}
    assert skus[shop.products["tea"]] == "ART-tea"
    assert skus[shop.products["juice"]].startswith("ART-tea-")
    assert len(set(skus.values())) == 5
