"""The schedule declaration and the `refresh_vk_catalog` command's refusals."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils.module_loading import import_string

from connections.models import ConnectionState, VkConnection
from vk_catalog.locking import user_refresh_lock
from vk_catalog.models import VkCatalogRefresh
from vk_catalog.schedules import SCHEDULES


def test_schedule_refreshes_every_vk_catalog_at_the_configured_interval(settings):
    (spec,) = [spec for spec in SCHEDULES if spec.name == "refresh_vk_catalog"]
    assert import_string(spec.func) is import_string("vk_catalog.tasks.refresh_vk_catalog_all")
    settings.VK_CATALOG_REFRESH_INTERVAL_SECONDS = 900
    assert spec.resolved_minutes() == 15
    settings.VK_CATALOG_REFRESH_INTERVAL_SECONDS = 61
    assert spec.resolved_minutes() == 2


def test_the_vk_catalog_is_re_read_nightly_by_default_in_the_slow_lane():
    from evosync import settings as defaults

    (spec,) = [spec for spec in SCHEDULES if spec.name == "refresh_vk_catalog"]
    assert defaults.VK_CATALOG_REFRESH_INTERVAL_SECONDS == 86_400
    assert spec.fields()["cluster"] == "evosync-slow"


def test_every_function_a_schedule_names_imports():
    for spec in SCHEDULES:
        assert callable(import_string(spec.func))


@pytest.mark.django_db
def test_command_refuses_an_unknown_email():
    with pytest.raises(CommandError, match=r"nobody@example\.ru"):
        call_command("refresh_vk_catalog", "--user", "nobody@example.ru", stdout=StringIO())


@pytest.mark.django_db
def test_command_refuses_a_merchant_without_vk(owner):
    with pytest.raises(CommandError, match="VK не подключён"):
        call_command("refresh_vk_catalog", "--user", owner.email, stdout=StringIO())
    assert not VkCatalogRefresh.objects.exists()


@pytest.mark.django_db
def test_command_refuses_a_broken_vk_connection(owner):
    VkConnection.objects.create(
        user=owner, access_token="vk-demo-token", group_id=200001, state=ConnectionState.BROKEN
    )
    with pytest.raises(CommandError, match="VK не подключён"):
        call_command("refresh_vk_catalog", "--user", owner.email, stdout=StringIO())


@pytest.mark.django_db
def test_command_says_when_the_merchants_refresh_is_already_running(owner, vk_connection):
    with user_refresh_lock(owner.pk), pytest.raises(CommandError, match="уже обновляется"):
        call_command("refresh_vk_catalog", "--user", owner.email, stdout=StringIO())


@pytest.mark.django_db
def test_command_for_everyone_with_nobody_connected_does_nothing(owner):
    out = StringIO()
    call_command("refresh_vk_catalog", stdout=out)
    assert "нечего" in out.getvalue()
