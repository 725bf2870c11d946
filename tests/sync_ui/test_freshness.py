"""Freshness the merchant and staff see (issue 10 item 5): when the last change arrived from
Evotor, when it reached VK, the lag, and each task lane's depth in the admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import CatalogFreshness, DirtyProduct
from evosync.runs import enqueue_task
from sync.freshness import freshness_read
from sync.models import RunStatus, RunTrigger
from tests.conftest import make_user
from tests.sync_ui.conftest import make_run
from tests.sync_ui.test_automation import published

pytestmark = pytest.mark.django_db

ADMIN_URL = reverse("admin:catalog_catalogfreshness_changelist")


def change_arrived(user, minutes_ago: float) -> CatalogFreshness:
    return CatalogFreshness.objects.create(
        user=user, last_change_at=timezone.now() - timedelta(minutes=minutes_ago), changes=1
    )


def published_run(user, *, started_minutes_ago: float, took_minutes: float = 0.5, **fields):
    started = timezone.now() - timedelta(minutes=started_minutes_ago)
    return make_run(
        user,
        trigger=RunTrigger.EVOTOR_CHANGE,
        started_at=started,
        finished_at=started + timedelta(minutes=took_minutes),
        **fields,
    )


# --- the selector ----------------------------------------------------------------------------
def test_a_merchant_with_no_change_yet_has_no_freshness(owner):
    fresh = freshness_read(owner)
    assert fresh.last_change_at is None and fresh.reached_vk_at is None
    assert fresh.lag() is None and not fresh.waiting


def test_a_change_no_run_has_published_yet_is_waiting_and_its_lag_grows(owner):
    arrived = change_arrived(owner, minutes_ago=3)
    published_run(owner, started_minutes_ago=10)  # before the change: it cannot have carried it
    fresh = freshness_read(owner)
    assert fresh.last_change_at == arrived.last_change_at
    assert fresh.waiting and fresh.reached_vk_at is None
    later = timezone.now() + timedelta(minutes=1)
    assert fresh.lag(later) == later - arrived.last_change_at


def test_a_change_reached_vk_when_the_first_publish_started_after_it_finished(owner):
    arrived = change_arrived(owner, minutes_ago=5)
    first = published_run(owner, started_minutes_ago=4, took_minutes=0.25)
    published_run(owner, started_minutes_ago=2)  # a later one changes nothing
    fresh = freshness_read(owner)
    assert fresh.reached_vk_at == first.finished_at
    assert fresh.lag() == first.finished_at - arrived.last_change_at
    assert not fresh.waiting


@pytest.mark.parametrize(
    "fields",
    [{"status": RunStatus.FAILED}, {"status": RunStatus.HELD}, {"dry_run": True}],
    ids=["failed", "held", "preview"],
)
def test_a_run_that_published_nothing_does_not_count_as_reaching_vk(owner, fields):
    change_arrived(owner, minutes_ago=5)
    published_run(owner, started_minutes_ago=4, **fields)
    assert freshness_read(owner).waiting


def test_a_run_done_with_problems_counts_as_reaching_vk(owner):
    change_arrived(owner, minutes_ago=5)
    run = published_run(owner, started_minutes_ago=4, status=RunStatus.PARTIAL)
    assert freshness_read(owner).reached_vk_at == run.finished_at


def test_another_merchants_runs_never_count(owner, other_merchant):
    change_arrived(owner, minutes_ago=5)
    published_run(other_merchant, started_minutes_ago=4)
    assert freshness_read(owner).waiting


def test_products_waiting_are_counted(owner):
    for product in ("a", "b"):
        DirtyProduct.objects.create(
            user=owner, store_evotor_id="s", product_evotor_id=product, changed_at=timezone.now()
        )
    assert freshness_read(owner).changes_waiting == 2


# --- the dashboard ---------------------------------------------------------------------------
def test_the_dashboard_shows_when_the_last_change_arrived_and_reached_vk(owner_client, owner):
    published(owner)
    change_arrived(owner, minutes_ago=5)
    published_run(owner, started_minutes_ago=4)
    page = owner_client.get(reverse("sync:dashboard")).content.decode()
    assert "Последнее изменение из Эвотора" in page
    assert "Во ВКонтакте" in page
    assert "ещё нет" not in page.split('id="freshness"')[1].split("</dl>")[0]


def test_the_dashboard_says_a_change_is_not_in_vk_yet(owner_client, owner):
    published(owner)
    change_arrived(owner, minutes_ago=1)
    page = owner_client.get(reverse("sync:dashboard")).content.decode()
    facts = page.split('id="freshness"')[1].split("</dl>")[0]
    assert "пока нет: скоро опубликуем" in facts


def test_the_dashboard_says_no_change_has_arrived_yet(owner_client, owner):
    published(owner)
    page = owner_client.get(reverse("sync:dashboard")).content.decode()
    facts = page.split('id="freshness"')[1].split("</dl>")[0]
    assert "пока не было" in facts


# --- the admin -------------------------------------------------------------------------------
def test_staff_see_each_merchants_lag(staff_client, owner, other_merchant):
    change_arrived(owner, minutes_ago=5)
    published_run(owner, started_minutes_ago=4, took_minutes=1.5)
    change_arrived(other_merchant, minutes_ago=2)
    page = staff_client.get(ADMIN_URL).content.decode()
    assert owner.email in page and other_merchant.email in page
    assert "2:30" in page  # the owner's change reached VK 2 min 30 s after it arrived
    assert "и растёт" in page  # the other merchant's change still waits


def test_staff_see_the_queue_depth_of_each_lane(staff_client, owner, other_merchant, monkeypatch):
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", "default")
    for user in (owner, other_merchant):
        enqueue_task("catalog.tasks.refresh_catalog_for_user", user.pk, user_id=user.pk)
    enqueue_task("catalog.tasks.read_changes_for_user", owner.pk, user_id=owner.pk)
    page = staff_client.get(ADMIN_URL).content.decode()
    slow = page.split('data-lane="slow"')[1].split("</tr>")[0]
    fast = page.split('data-lane="fast"')[1].split("</tr>")[0]
    assert '<td class="queued">2</td>' in slow and '<td class="pending">2</td>' in slow
    assert '<td class="queued">1</td>' in fast and '<td class="pending">1</td>' in fast
    assert "catalog.tasks.refresh_catalog_for_user</code>: 2" in slow


def test_the_freshness_list_costs_the_same_queries_for_many_merchants(
    staff_client, django_assert_max_num_queries
):
    def merchants(count, start):
        for n in range(start, start + count):
            user = make_user(f"m{n}@example.ru")
            change_arrived(user, minutes_ago=5)
            published_run(user, started_minutes_ago=4)

    merchants(2, 0)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert staff_client.get(ADMIN_URL).status_code == 200
    merchants(20, 100)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert staff_client.get(ADMIN_URL).status_code == 200


def test_merchants_cannot_open_the_freshness_list(owner_client):
    response = owner_client.get(ADMIN_URL)
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
