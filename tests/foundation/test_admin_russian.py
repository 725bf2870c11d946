"""The admin reads right in Russian (issue 12 point 7): evosync/admin_names.py declines the
names Django's own sentences put in the nominative."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_q.models import OrmQ

from accounts.models import Role
from sync.models import RunStatus
from tests.conftest import make_user
from tests.sync_ui.conftest import make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def system_client(client):
    client.force_login(make_user("root@example.ru", role=Role.SYSTEM))
    return client


def page(client, url) -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 200
    return response.content.decode()


def test_the_user_list_asks_to_choose_a_user_in_the_accusative(system_client):
    text = page(system_client, reverse("admin:accounts_user_changelist"))
    assert "Выберите пользователя для изменения" in text
    assert "Выберите пользователь" not in text
    assert "Добавить пользователя" in text


def test_the_add_group_page_is_titled_in_the_accusative(system_client):
    # (adding a user is the invitation form, titled by accounts.admin itself)
    text = page(system_client, reverse("admin:auth_group_add"))
    assert "<title>Добавить группу" in text
    assert "Добавить группа" not in text


def test_the_user_page_is_titled_in_the_accusative(system_client):
    user = make_user("owner@example.ru")
    text = page(system_client, reverse("admin:accounts_user_change", args=[user.pk]))
    assert "Изменить пользователя" in text
    assert "Изменить пользователь " not in text


@pytest.mark.parametrize(
    "count,words",
    [(1, "1 запуск публикации"), (2, "2 запуска публикации"), (5, "5 запусков публикации")],
)
def test_the_run_list_counts_runs_with_russian_plural_forms(system_client, count, words):
    owner = make_user("owner@example.ru")
    for _ in range(count):
        make_run(owner, status=RunStatus.SUCCEEDED)
    text = page(system_client, reverse("admin:sync_syncrun_changelist"))
    assert words in text
    assert "запуски публикации" not in text


def test_the_queued_task_list_is_declined(system_client):
    from django.contrib import admin

    if not admin.site.is_registered(OrmQ):
        pytest.skip("django-q2 shows its queue in the admin only with the ORM broker")
    OrmQ.objects.create(key="default", payload="x", lock=None)
    text = page(system_client, reverse("admin:django_q_ormq_changelist"))
    assert "Выберите задачу в очереди для" in text
    assert "Выберите Задача в очереди" not in text
    assert "1 задача в очереди" in text


def test_the_scheduled_task_list_is_declined(system_client):
    text = page(system_client, reverse("admin:django_q_schedule_changelist"))
    assert "Выберите запланированную задачу для" in text
    assert "Выберите Запланированная задача" not in text


def test_the_user_column_has_a_russian_header(system_client):
    make_run(make_user("owner@example.ru"), status=RunStatus.SUCCEEDED)
    text = page(system_client, reverse("admin:sync_syncrun_changelist"))
    assert "column-user" in text
    header = text[text.index("column-user") :]
    header = header[: header.index("</th>")]
    assert "Пользователь" in header or "пользователь" in header
    assert ">user<" not in header.replace(" ", "")


def test_the_admin_reads_english_in_english(system_client):
    response = system_client.get(
        reverse("admin:accounts_user_changelist"), HTTP_ACCEPT_LANGUAGE="en"
    )
    text = response.content.decode()
    assert "Select user to change" in text and "Add user" in text
