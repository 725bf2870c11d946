"""The refresh tasks, the schedule that runs them, and `manage.py refresh_catalog`."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.utils.module_loading import import_string

from catalog.models import CachedProduct, CatalogRefresh, RefreshStatus
from catalog.schedules import SCHEDULES
from catalog.tasks import refresh_catalog_all, refresh_catalog_for_user
from connections.models import ConnectionState
from tests.catalog.conftest import connect_evotor
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_the_schedule_names_importable_functions_at_the_configured_interval(settings):
    settings.CATALOG_REFRESH_INTERVAL_SECONDS = 900
    (spec,) = [s for s in SCHEDULES if s.name == "refresh_catalog"]
    assert callable(import_string(spec.func))
    assert spec.func == "catalog.tasks.refresh_catalog_all"
    assert spec.resolved_minutes() == 15


def test_the_since_read_schedule_names_an_importable_function(settings):
    settings.EVOTOR_POLL_INTERVAL_SECONDS = 60
    (spec,) = [s for s in SCHEDULES if s.name == "read_catalog_changes"]
    assert callable(import_string(spec.func))
    assert spec.resolved_minutes() == 1


def test_the_events_poller_schedule_names_an_importable_function(settings):
    from webhooks.schedules import SCHEDULES as WEBHOOK_SCHEDULES

    settings.EVOTOR_EVENTS_INTERVAL_SECONDS = 120
    (spec,) = WEBHOOK_SCHEDULES
    assert callable(import_string(spec.func))
    assert spec.resolved_minutes() == 2


def test_the_webhook_task_path_exists():
    assert import_string("catalog.tasks.refresh_catalog_for_user") is refresh_catalog_for_user


def test_task_refreshes_one_user(owner, evotor_connection, sandbox):
    result = refresh_catalog_for_user(owner.pk)

    assert result["status"] == "ok"
    assert CachedProduct.objects.filter(user=owner).exists()


def test_task_for_a_deleted_user_does_nothing(sandbox):
    assert refresh_catalog_for_user(987654)["status"] == "skipped"


def test_fan_out_refreshes_everyone_even_when_one_fails(owner, sandbox):
    broken = make_user("broken@example.ru")
    connect_evotor(broken, token="revoked-token")  # the sandbox answers 401
    connect_evotor(owner)
    suspended = make_user("suspended@example.ru", status="suspended")
    connect_evotor(suspended)
    disconnected = make_user("off@example.ru")
    connect_evotor(disconnected, state=ConnectionState.BROKEN)

    assert refresh_catalog_all() == 2

    assert CatalogRefresh.objects.get(user=broken).status == RefreshStatus.FAILED
    assert CatalogRefresh.objects.get(user=owner).status == RefreshStatus.OK
    assert CachedProduct.objects.filter(user=owner).count() > 400
    assert not CatalogRefresh.objects.filter(user__in=[suspended, disconnected]).exists()


def test_command_refreshes_one_user_and_shows_progress(owner, evotor_connection, sandbox):
    out = io.StringIO()

    call_command("refresh_catalog", "--user", "OWNER@example.ru", stdout=out, stderr=io.StringIO())

    text = out.getvalue()
    assert "owner@example.ru" in text
    assert "«Продукты у дома»" in text and "«Кофейня «Зерно»»" in text
    assert "товаров прочитано" in text.lower()
    assert "402/403" in text
    assert "готово" in text.lower()
    assert CatalogRefresh.objects.get(user=owner).trigger == "command"


def test_command_without_user_refreshes_every_connected_user(owner, other_merchant, sandbox):
    connect_evotor(owner)
    connect_evotor(other_merchant)

    call_command("refresh_catalog", stdout=io.StringIO())

    assert CatalogRefresh.objects.filter(status=RefreshStatus.OK).count() == 2


def test_command_with_an_unknown_email_fails_with_a_sentence(db):
    with pytest.raises(CommandError, match=r"Нет пользователя с адресом nobody@example\.ru"):
        call_command("refresh_catalog", "--user", "nobody@example.ru")


def test_command_for_a_user_without_evotor_fails_with_a_sentence(owner):
    with pytest.raises(CommandError, match=r"owner@example\.ru.*Эвотор"):
        call_command("refresh_catalog", "--user", owner.email)
    assert not CatalogRefresh.objects.exists()


def test_command_exits_non_zero_when_a_refresh_fails(owner, evotor_connection, sandbox):
    sandbox.fail("500")
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("refresh_catalog", "--user", owner.email, stdout=io.StringIO(), stderr=err)

    assert "Эвотор" in err.getvalue()
