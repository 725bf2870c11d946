"""The preview of a large catalog computed off the request (issue 10 point 4): a task in the slow
lane, really queued in the ORM broker and taken from there; the page shows its progress, then
the kept result; a stale result is shown as such while computed again; "Publish" publishes what
was seen, or, from a stale result, the catalog as it is now when that is close to what was seen."""

from __future__ import annotations

import re
from datetime import timedelta
from pydoc import locate

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.signing import SignedPackage

from evosync.queues import FAST, SLOW, lane_cluster, release_on_start
from sync.models import ItemLink, PlanPreview, PreviewStatus, RunStatus, SyncRun
from sync.plan.inputs import sync_settings_get
from sync.preview_jobs import preview_source_key
from sync.preview_store import preview_summary

pytestmark = pytest.mark.django_db

PREVIEW = reverse("sync:preview")
PUBLISH = reverse("sync:publish")
KEY = re.compile(r'name="preview_key" value="([0-9a-f]{64})"')


@pytest.fixture
def orm_queue(monkeypatch):
    """Tasks go into the ORM broker's queues instead of running at once (tests/sync_ui/test_lanes.py)."""
    monkeypatch.setattr(Conf, "SYNC", False)
    monkeypatch.setattr(Conf, "ORM", "default")
    monkeypatch.setattr(Conf, "BROKER_CLASS", None)


@pytest.fixture
def large(settings):
    """The shop's five products count as a large catalog."""
    settings.PREVIEW_INLINE_MAX_PRODUCTS = 2


def queued(lane: str) -> int:
    return get_broker(lane_cluster(lane)).queue_size()


def work(lane: str) -> list[dict]:
    """What a worker of `lane` does: take each waiting task from the broker, free its pending
    slot (django-q2's pre_execute), run it, acknowledge it. Returns the tasks' results."""
    broker = get_broker(lane_cluster(lane))
    results = []
    for ack_id, package in broker.dequeue() or []:
        task = SignedPackage.loads(package)
        release_on_start(None, task=task)
        results.append(locate(task["func"])(*task["args"], **task["kwargs"]))
        broker.acknowledge(ack_id)
    return results


def visit(client, on_commit, url=PREVIEW, **extra):
    with on_commit(execute=True):
        return client.get(url, **extra)


def test_a_large_catalog_is_previewed_by_a_slow_lane_task_with_progress_on_the_page(
    owner_client, shop, large, orm_queue, django_capture_on_commit_callbacks
):
    response = visit(owner_client, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert response.templates[0].name == "sync/preview_progress.html"
    preview = PlanPreview.objects.get(user=shop.user)
    assert preview.status == PreviewStatus.QUEUED and preview.products == 5
    page = response.content.decode()
    assert "Каталог большой (5 товаров)" in page
    assert "Чай чёрный листовой" not in page  # not planned in the request
    progress_url = reverse("sync:preview_progress", args=[preview.pk])
    assert f'hx-get="{progress_url}?reload=1"' in page  # htmx polls where JavaScript runs
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    assert (queued(FAST), queued(SLOW)) == (0, 1)

    # A reload while it waits queues nothing more: one pending preview per merchant.
    visit(owner_client, django_capture_on_commit_callbacks)
    assert (queued(FAST), queued(SLOW)) == (0, 1)
    waiting = owner_client.get(progress_url).json()
    assert (waiting["status"], waiting["ready"]) == ("queued", False)

    assert work(SLOW) == [{"status": "ready"}]
    done = owner_client.get(progress_url).json()
    assert done["ready"] and done["done"] == done["total"] == 5 and done["percent"] == 100

    response = visit(owner_client, django_capture_on_commit_callbacks)
    assert response.context["counts"]["create"] == 5
    page = response.content.decode()
    assert "Чай чёрный листовой" in page and "Булочка с маком" in page
    assert KEY.search(page).group(1) == preview_source_key(shop.user)
    assert queued(SLOW) == 0  # the kept result is shown: nothing computed again
    # Nothing was written anywhere but the preview.
    assert not ItemLink.objects.filter(user=shop.user).exists()
    assert not SyncRun.objects.filter(user=shop.user).exists()
    assert shop.vk_items() == []


def test_the_htmx_poll_gets_the_progress_then_reloads_the_page_once_ready(
    owner_client, shop, large, orm_queue, django_capture_on_commit_callbacks
):
    visit(owner_client, django_capture_on_commit_callbacks)
    preview = PlanPreview.objects.get(user=shop.user)
    url = reverse("sync:preview_progress", args=[preview.pk]) + "?reload=1"
    polled = owner_client.get(url, HTTP_HX_REQUEST="true")
    assert polled.status_code == 200
    assert 'data-preview-stage="queued"' in polled.content.decode()
    assert "Ждём своей очереди" in polled.content.decode()
    english = owner_client.get(url, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="en")
    assert "Waiting for its turn in the queue" in english.content.decode()
    work(SLOW)
    polled = owner_client.get(url, HTTP_HX_REQUEST="true")
    assert polled["HX-Refresh"] == "true"


def test_a_kept_preview_is_computed_again_once_the_catalog_or_settings_change(
    owner_client, shop, large, orm_queue, django_capture_on_commit_callbacks
):
    visit(owner_client, django_capture_on_commit_callbacks)
    work(SLOW)
    first = PlanPreview.objects.get(user=shop.user)
    assert first.status == PreviewStatus.READY

    shop.evotor.set_product(shop.store_id, shop.products["tea"], price=777)
    shop.refresh()
    # The kept result is shown at once, as stale, while the new one is computed in the slow lane.
    response = visit(owner_client, django_capture_on_commit_callbacks)
    assert response.templates[0].name == "sync/preview.html"
    assert response.context["stale"] and response.context["counts"]["create"] == 5
    page = response.content.decode()
    assert 'data-preview-stale="1"' in page and "Чай чёрный листовой" in page
    assert "777" not in page  # the catalog as it was when computed
    assert "Каталог изменился после того, как этот предпросмотр был посчитан" in page
    assert "публикует каталог таким, какой он сейчас" in page
    assert "Опубликовать каталог как есть сейчас" in page
    assert 'name="as_now" value="1"' in page
    progress_url = reverse("sync:preview_progress", args=[first.pk])
    assert f'hx-get="{progress_url}?reload=1"' in page  # the progress inline, polled
    assert "Ждём своей очереди" in page
    assert queued(SLOW) == 1
    visit(owner_client, django_capture_on_commit_callbacks)  # a reload queues nothing more
    assert queued(SLOW) == 1
    english = visit(owner_client, django_capture_on_commit_callbacks, HTTP_ACCEPT_LANGUAGE="en")
    assert "Your catalog changed after this preview was computed" in english.content.decode()
    assert owner_client.get(progress_url, HTTP_HX_REQUEST="true").status_code == 200
    # Its "show all" pages read the same kept result, under the same banner.
    section = visit(owner_client, django_capture_on_commit_callbacks, PREVIEW + "?action=create")
    assert section.context["stale"] and 'data-preview-stale="1"' in section.content.decode()
    assert section.context["page"].paginator.count == 5

    work(SLOW)
    assert owner_client.get(progress_url + "?reload=1", HTTP_HX_REQUEST="true")["HX-Refresh"]
    # The fresh result replaces it, without the banner.
    response = visit(owner_client, django_capture_on_commit_callbacks)
    page = response.content.decode()
    assert "777" in page and not response.context["stale"]
    assert 'id="preview-stale"' not in page and 'name="as_now"' not in page
    assert PlanPreview.objects.get(user=shop.user).computed_at > first.computed_at
    assert queued(SLOW) == 0

    settings_obj = sync_settings_get(shop.user)
    settings_obj.vk_category_id = None
    settings_obj.save()
    assert visit(owner_client, django_capture_on_commit_callbacks).context["stale"]
    assert queued(SLOW) == 1
    work(SLOW)
    response = visit(owner_client, django_capture_on_commit_callbacks)
    assert response.context["counts"]["skipped"] == 5


def test_a_failed_preview_says_so_and_can_be_computed_again(
    owner_client, shop, large, orm_queue, django_capture_on_commit_callbacks, monkeypatch
):
    from sync import preview_jobs

    working = preview_jobs.sync_run_preview

    def broken(**_kwargs):
        raise RuntimeError("planner broke")

    monkeypatch.setattr(preview_jobs, "sync_run_preview", broken)
    visit(owner_client, django_capture_on_commit_callbacks)
    assert work(SLOW) == [{"status": "failed"}]
    page = visit(owner_client, django_capture_on_commit_callbacks).content.decode()
    assert "Не удалось посчитать предпросмотр." in page
    assert "При подсчёте предпросмотра что-то пошло не так" in page
    assert f'action="{reverse("sync:preview_again")}"' in page
    assert "csrfmiddlewaretoken" in page
    assert queued(SLOW) == 0  # a failure is not retried behind the merchant's back

    monkeypatch.setattr(preview_jobs, "sync_run_preview", working)
    with django_capture_on_commit_callbacks(execute=True):
        again = owner_client.post(reverse("sync:preview_again"))
    assert again["Location"] == PREVIEW
    assert queued(SLOW) == 1
    work(SLOW)
    assert PlanPreview.objects.get(user=shop.user).status == PreviewStatus.READY


def test_a_preview_whose_worker_died_is_reported_as_interrupted(
    owner_client, shop, large, orm_queue, django_capture_on_commit_callbacks, settings
):
    visit(owner_client, django_capture_on_commit_callbacks)
    long_ago = timezone.now() - timedelta(seconds=settings.PREVIEW_STALL_SECONDS + 60)
    PlanPreview.objects.filter(user=shop.user).update(
        status=PreviewStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago
    )
    preview = PlanPreview.objects.get(user=shop.user)
    answer = owner_client.get(reverse("sync:preview_progress", args=[preview.pk])).json()
    assert answer["status"] == "failed"
    assert "прервался" in answer["error"]


def test_the_task_twice_computes_once(
    owner, shop, large, orm_queue, django_capture_on_commit_callbacks
):
    from sync.tasks import compute_preview

    client = Client()
    client.force_login(owner)
    visit(client, django_capture_on_commit_callbacks)
    preview = PlanPreview.objects.get(user=shop.user)
    assert compute_preview(owner.pk, preview.pk) == {"status": "ready"}
    assert compute_preview(owner.pk, preview.pk) == {"status": "skipped"}


def test_another_merchants_preview_is_not_found(
    owner_client, shop, large, orm_queue, django_capture_on_commit_callbacks, other_merchant
):
    visit(owner_client, django_capture_on_commit_callbacks)
    preview = PlanPreview.objects.get(user=shop.user)
    other = Client()
    other.force_login(other_merchant)
    assert other.get(reverse("sync:preview_progress", args=[preview.pk])).status_code == 404
    assert (
        other.get(
            reverse("sync:preview_progress", args=[preview.pk]), HTTP_HX_REQUEST="true"
        ).status_code
        == 404
    )


def test_the_preview_forms_need_the_csrf_token(owner, shop):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    assert strict.post(reverse("sync:preview_again")).status_code == 403
    assert strict.post(PUBLISH).status_code == 403


# --- publishing what was seen ------------------------------------------------------------------
def test_publish_is_refused_when_the_catalog_changed_after_the_preview(
    owner_client, shop, django_capture_on_commit_callbacks
):
    seen = KEY.search(owner_client.get(PREVIEW).content.decode()).group(1)
    shop.evotor.set_product(shop.store_id, shop.products["tea"], price=555)
    shop.refresh()

    response = owner_client.post(PUBLISH, {"preview_key": seen}, follow=True)
    assert response.redirect_chain[-1][0] == PREVIEW
    page = response.content.decode()
    assert "ничего не опубликовано" in page
    assert "555" in page  # the preview as it is now
    assert not SyncRun.objects.filter(user=shop.user).exists()
    assert shop.vk_items() == []

    now_seen = KEY.search(page).group(1)
    assert now_seen != seen
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(PUBLISH, {"preview_key": now_seen})
    run = SyncRun.objects.get(user=shop.user)
    assert run.status == RunStatus.SUCCEEDED and run.created == 5


def test_show_all_pages_read_the_kept_preview_page_by_page(owner_client, shop):
    for n in range(60):
        shop.add(f"bulk{n:02}", f"Товар номер {n:02}")
    shop.refresh()
    overview = owner_client.get(PREVIEW)
    assert overview.context["counts"]["create"] == 65
    kept = PlanPreview.objects.get(user=shop.user)
    assert kept.chunks.filter(section="create").count() == 2

    first = owner_client.get(PREVIEW, {"action": "create"})
    second = owner_client.get(PREVIEW, {"action": "create", "page": 2})
    names = [{row.item.product_name for row in page.context["rows"]} for page in (first, second)]
    assert (len(names[0]), len(names[1])) == (50, 15)
    assert not names[0] & names[1]
    assert len(names[0] | names[1]) == 65
    # The action pages read what the preview computed: nothing planned again.
    assert PlanPreview.objects.get(user=shop.user).computed_at == kept.computed_at


def test_a_change_read_from_evotor_makes_the_kept_preview_stale(
    owner_client, shop, large, orm_queue, django_capture_on_commit_callbacks
):
    """The change intake (catalog/changes.py), not a full read: the key sees it too."""
    from catalog.changes import catalog_changes_read

    visit(owner_client, django_capture_on_commit_callbacks)
    work(SLOW)
    shop.evotor.set_product(shop.store_id, shop.products["tea"], price=888)
    catalog_changes_read(user=shop.user)
    response = visit(owner_client, django_capture_on_commit_callbacks)
    assert response.context["stale"] and queued(SLOW) == 1
    work(SLOW)
    assert "888" in visit(owner_client, django_capture_on_commit_callbacks).content.decode()


# --- publishing from a stale result -------------------------------------------------------------
def stale_page(client, shop, on_commit, *, price=999):
    """The kept result of a large catalog, shown as stale after a sale-like change: its page."""
    visit(client, on_commit)
    work(SLOW)
    shop.evotor.set_product(shop.store_id, shop.products["tea"], price=price)
    shop.refresh()
    response = visit(client, on_commit)
    assert response.context["stale"] and queued(SLOW) == 1
    return response.content.decode()


def test_publish_from_a_stale_result_publishes_the_catalog_as_it_is_now(
    owner_client, shop, large, orm_queue, django_capture_on_commit_callbacks
):
    page = stale_page(owner_client, shop, django_capture_on_commit_callbacks)
    seen = KEY.search(page).group(1)
    assert seen == preview_summary(PlanPreview.objects.get(user=shop.user)).source_key
    assert seen != preview_source_key(shop.user)

    # Without the stale page's acknowledgement it is refused, as a preview gone stale is.
    refused = owner_client.post(PUBLISH, {"preview_key": seen}, follow=True)
    assert "ничего не опубликовано" in refused.content.decode()
    assert not SyncRun.objects.filter(user=shop.user).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(PUBLISH, {"preview_key": seen, "as_now": "1"})
    run = SyncRun.objects.get(user=shop.user)
    assert response["Location"] == reverse("sync:run_detail", args=[run.pk])
    assert queued(SLOW) == 2  # the preview computed again, then the run: both in the slow lane
    while queued(SLOW):
        work(SLOW)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.created == 5
    assert shop.vk_item("tea")["price"]["amount"] == "99900"  # the price as it is now


def test_publish_from_a_stale_result_is_refused_once_a_newer_one_is_kept(
    owner_client, shop, large, orm_queue, django_capture_on_commit_callbacks
):
    seen = KEY.search(stale_page(owner_client, shop, django_capture_on_commit_callbacks)).group(1)
    work(SLOW)  # the new result is kept meanwhile
    shop.evotor.set_product(shop.store_id, shop.products["tea"], price=1001)
    shop.refresh()  # and is already stale too: still not what the merchant saw
    response = owner_client.post(PUBLISH, {"preview_key": seen, "as_now": "1"}, follow=True)
    assert "Был посчитан более новый предпросмотр" in response.content.decode()
    assert not SyncRun.objects.filter(user=shop.user).exists()


def test_publish_from_a_stale_result_is_refused_when_settings_changed(
    owner_client, shop, large, orm_queue, django_capture_on_commit_callbacks
):
    seen = KEY.search(stale_page(owner_client, shop, django_capture_on_commit_callbacks)).group(1)
    settings_obj = sync_settings_get(shop.user)
    settings_obj.vk_category_id = None
    settings_obj.save()
    response = owner_client.post(PUBLISH, {"preview_key": seen, "as_now": "1"}, follow=True)
    assert "изменились настройки" in response.content.decode()
    assert not SyncRun.objects.filter(user=shop.user).exists()


def test_publish_from_a_stale_result_is_refused_when_the_catalog_size_moved_a_lot(
    owner_client, shop, large, orm_queue, django_capture_on_commit_callbacks, monkeypatch
):
    from sync import preview_publish

    monkeypatch.setattr(preview_publish, "STALE_PRODUCTS_MIN", 1)
    seen = KEY.search(stale_page(owner_client, shop, django_capture_on_commit_callbacks)).group(1)
    shop.add("new1", "Пирожок с капустой")
    shop.add("new2", "Пирожок с яблоком")
    shop.refresh()
    response = owner_client.post(PUBLISH, {"preview_key": seen, "as_now": "1"}, follow=True)
    page = response.content.decode()
    assert "В каталоге сейчас 7 товаров, а когда этот предпросмотр считался, было 5" in page
    assert not SyncRun.objects.filter(user=shop.user).exists()

    # One product more is within the margin: the stale result still publishes.
    monkeypatch.setattr(preview_publish, "STALE_PRODUCTS_MIN", 2)
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(PUBLISH, {"preview_key": seen, "as_now": "1"})
    assert SyncRun.objects.filter(user=shop.user).exists()


def test_removals_made_after_a_stale_result_are_re_checked_by_the_run(
    owner_client, shop, large, orm_queue, django_capture_on_commit_callbacks
):
    """The stale result showed no removals; the catalog lost three products since (a small
    change in size): "Publish" goes ahead, and the run's removal guard holds it."""
    assert shop.sync().status == RunStatus.SUCCEEDED
    page = stale_page(owner_client, shop, django_capture_on_commit_callbacks)
    assert 'name="confirm_removals"' not in page
    seen = KEY.search(page).group(1)
    for key in ("coffee", "bun", "juice"):
        shop.remove(key)
    shop.refresh()
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(PUBLISH, {"preview_key": seen, "as_now": "1"})
    while queued(SLOW):
        work(SLOW)
    run = SyncRun.objects.filter(user=shop.user).order_by("-pk").first()
    assert run.status == RunStatus.HELD and run.confirmed_removals == 0
    assert len(shop.vk_items()) == 5  # nothing hidden without the merchant's confirmation


def test_a_failed_recompute_keeps_the_stale_result_with_the_error_and_try_again(
    owner_client, shop, large, orm_queue, django_capture_on_commit_callbacks, monkeypatch
):
    from sync import preview_jobs

    stale_page(owner_client, shop, django_capture_on_commit_callbacks)

    def broken(**_kwargs):
        raise RuntimeError("planner broke")

    monkeypatch.setattr(preview_jobs, "sync_run_preview", broken)
    assert work(SLOW) == [{"status": "failed"}]
    response = visit(owner_client, django_capture_on_commit_callbacks)
    page = response.content.decode()
    assert response.context["stale"] and "Чай чёрный листовой" in page
    assert "Не удалось посчитать предпросмотр." in page
    assert f'action="{reverse("sync:preview_again")}"' in page
    assert 'name="as_now" value="1"' in page  # still publishable as it is now
    assert queued(SLOW) == 0  # a failure is not retried behind the merchant's back
