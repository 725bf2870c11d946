"""Pages that say what is true (issue 12): runs done with problems, the category refusal,
adoption answers, texts that follow the state, one money and date-time format."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import translation

from evosync.formats import money_text
from sync.models import AdoptionDecision, AdoptionVerdict, RunStatus, SyncRun
from sync.plan.inputs import sync_settings_get
from tests.sync_ui.conftest import VK_GROUP

pytestmark = pytest.mark.django_db

PREVIEW = reverse("sync:preview")


def no_category(user):
    settings_obj = sync_settings_get(user)
    settings_obj.vk_category_id = None
    settings_obj.save()


# --- the category ------------------------------------------------------------------------------
def test_the_preview_refuses_to_publish_without_a_category_and_links_to_the_setting(
    owner_client, shop
):
    no_category(shop.user)
    page = owner_client.get(PREVIEW).content.decode()
    assert 'data-refusal="no_category"' in page
    assert reverse("sync:settings") + "#id_vk_category_id" in page
    assert f'action="{reverse("sync:publish")}"' not in page


def test_publishing_without_a_category_starts_no_run_and_says_why(owner_client, shop):
    no_category(shop.user)
    response = owner_client.post(reverse("sync:publish"), follow=True)
    assert "Сначала выберите категорию ВКонтакте" in response.content.decode()
    assert not SyncRun.objects.filter(user=shop.user).exists()
    assert shop.vk_items() == [] and shop.vk.albums(VK_GROUP) == []


# --- runs done with problems -------------------------------------------------------------------
def test_a_run_that_skipped_items_is_done_with_problems_with_the_fix_in_one_line(
    owner_client, shop
):
    shop.add("nophoto", "Товар без фото", image=False)
    shop.refresh()
    run = shop.sync()
    assert run.status == RunStatus.PARTIAL and run.skipped == 1
    page = owner_client.get(reverse("sync:runs")).content.decode()
    assert "Готово с проблемами" in page
    assert "1 товар пропущен: у него нет фото." in page
    assert reverse("sync:settings") + "#id_default_photo" in page
    assert '<td data-count="skipped"><span class="badge badge-warn">1</span></td>' in page
    detail = owner_client.get(reverse("sync:run_detail", args=[run.pk])).content.decode()
    assert 'id="run-problem"' in detail and "Загрузить фото по умолчанию" in detail


def test_a_run_with_nothing_left_out_is_done(owner_client, shop):
    run = shop.sync()
    assert run.status == RunStatus.SUCCEEDED and (run.skipped, run.failed) == (0, 0)
    page = owner_client.get(reverse("sync:runs")).content.decode()
    assert "Готово с проблемами" not in page


# --- texts that follow the state ----------------------------------------------------------------
def test_the_preview_says_nothing_was_sent_only_before_anything_was(owner_client, shop):
    before = owner_client.get(PREVIEW).content.decode()
    assert "Во ВКонтакте пока ничего не отправлено" in before
    shop.sync()
    after = owner_client.get(PREVIEW).content.decode()
    assert "Во ВКонтакте пока ничего не отправлено" not in after
    assert "Публиковать нечего: во ВКонтакте уже всё есть." in after


def test_an_account_with_nothing_connected_is_not_told_vk_has_everything(owner_client):
    page = owner_client.get(PREVIEW).content.decode()
    assert "во ВКонтакте уже всё есть" not in page
    assert 'data-refusal="vk_not_connected"' in page


# --- adoption answers ---------------------------------------------------------------------------
@pytest.fixture
def lookalike(shop):
    """A VK item of the same name as «Кофе молотый», without a sku: asked about, not adopted."""
    return shop.vk.add_item(VK_GROUP, title="Кофе молотый", price=1505.99, with_photo=True)


def test_the_preview_asks_about_a_weak_match_showing_both_names_and_prices(
    owner_client, shop, lookalike
):
    response = owner_client.get(PREVIEW)
    (review,) = response.context["adoption_reviews"]
    assert review.vk.vk_id == lookalike["id"]
    page = response.content.decode()
    row = page[page.index(f'data-adoption="{shop.products["coffee"]}"') :]
    row = row[: row.index("</tr>")]
    assert "Кофе молотый" in row
    assert "349,90\u00a0₽" in row and "1\u202f505,99\u00a0₽" in row
    assert reverse("sync:adoption_answer", args=[shop.store_id, shop.products["coffee"]]) in row


def test_confirming_a_match_adopts_the_item_at_the_next_publish(owner_client, shop, lookalike):
    owner_client.get(PREVIEW)  # reads the VK Market
    url = reverse("sync:adoption_answer", args=[shop.store_id, shop.products["coffee"]])
    response = owner_client.post(url, {"vk_item_id": lookalike["id"], "verdict": "confirmed"})
    assert response.status_code == 302
    decision = AdoptionDecision.objects.get(user=shop.user)
    assert (decision.vk_item_id, decision.verdict) == (lookalike["id"], AdoptionVerdict.CONFIRMED)
    run = shop.sync()
    assert run.adopted == 1 and len(shop.vk_items()) == 5


def test_another_merchant_cannot_answer_about_the_owners_product(
    owner_client, other_client, shop, lookalike
):
    owner_client.get(PREVIEW)
    url = reverse("sync:adoption_answer", args=[shop.store_id, shop.products["coffee"]])
    response = other_client.post(url, {"vk_item_id": lookalike["id"], "verdict": "confirmed"})
    assert response.status_code == 404
    assert not AdoptionDecision.objects.exists()


def test_an_answer_needs_the_csrf_token(owner, shop, lookalike):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    url = reverse("sync:adoption_answer", args=[shop.store_id, shop.products["coffee"]])
    response = client.post(url, {"vk_item_id": lookalike["id"], "verdict": "confirmed"})
    assert response.status_code == 403
    assert not AdoptionDecision.objects.exists()


def test_an_answer_that_is_not_one_of_the_buttons_changes_nothing(owner_client, shop, lookalike):
    url = reverse("sync:adoption_answer", args=[shop.store_id, shop.products["coffee"]])
    response = owner_client.post(url, {"vk_item_id": "x", "verdict": "maybe"}, follow=True)
    assert "Ответ не распознан" in response.content.decode()
    assert not AdoptionDecision.objects.exists()


def test_answering_needs_a_post(owner_client, shop):
    url = reverse("sync:adoption_answer", args=[shop.store_id, shop.products["coffee"]])
    assert owner_client.get(url).status_code == 405


# --- formats ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value,russian,english",
    [
        (Decimal("197.90"), "197,90\u00a0₽", "₽197.90"),
        ("1505.99", "1\u202f505,99\u00a0₽", "₽1,505.99"),
        (45, "45\u00a0₽", "₽45"),
        ("1234567", "1\u202f234\u202f567\u00a0₽", "₽1,234,567"),
        (None, "—", "—"),
    ],
)
def test_money_is_written_the_russian_way_and_the_english_way(value, russian, english):
    assert money_text(value, language="ru") == russian
    assert money_text(value, language="en") == english


def test_a_moment_reads_the_same_everywhere():
    moment = datetime(2026, 12, 5, 1, 53, tzinfo=ZoneInfo("Europe/Moscow"))
    template = Template('{% load formats %}{{ moment|when }}|{{ moment|date:"DATETIME_FORMAT" }}')
    with translation.override("ru"):
        text = template.render(Context({"moment": moment}))
    assert text == "5 декабря 2026, 01:53|5 декабря 2026, 01:53"


def test_a_category_is_shown_by_its_name():
    from sync.templatetags.sync_tags import change_value

    with translation.override("ru"):
        assert change_value(20055, "category_id") == "Бакалея"
        assert change_value("197.9", "price") == "197,90\u00a0₽"


# --- the dashboard's main button ------------------------------------------------------------------
def main_action(page: str) -> str:
    start = page.index('data-main-action="') + len('data-main-action="')
    return page[start : page.index('"', start)]


def test_an_account_with_nothing_connected_is_led_to_connect_not_to_sync(owner_client):
    page = owner_client.get(reverse("sync:dashboard")).content.decode()
    assert main_action(page) == "connect_vk"
    assert "Синхронизировать сейчас" not in page
    assert f'action="{reverse("sync:sync_now")}"' not in page


def test_a_connected_account_before_its_first_publish_is_led_to_the_preview(owner_client, shop):
    page = owner_client.get(reverse("sync:dashboard")).content.decode()
    assert main_action(page) == "preview"


def test_after_the_first_publish_the_main_button_syncs(owner_client, shop):
    shop.sync()
    page = owner_client.get(reverse("sync:dashboard")).content.decode()
    assert main_action(page) == "sync_now"
    assert f'action="{reverse("sync:sync_now")}"' in page
