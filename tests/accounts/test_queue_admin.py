"""The task queue admin: only the system role decides what the worker runs (issue 13, item 1).

The admin role used to hold "change" on all of django_q, and django-q2's schedule admin takes
any dotted function name: editing a schedule to `subprocess.getoutput` ran a shell command in
the worker. Each test signs in as one role and tries.
"""

from __future__ import annotations

import importlib
import uuid

import pytest
from django.apps import apps as django_apps
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_q.models import Failure, Schedule, Success, Task

from accounts.models import Role
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

SCHEDULES = reverse("admin:django_q_schedule_changelist")
FAILURES = reverse("admin:django_q_failure_changelist")
SUCCESSES = reverse("admin:django_q_success_changelist")
HOSTILE_FUNC = "subprocess.getoutput"


@pytest.fixture
def schedule():
    return Schedule.objects.create(
        name="sync_to_vk", func="sync.tasks.sync_all", schedule_type="I", minutes=15, repeats=-1
    )


@pytest.fixture
def as_role(client):
    def sign_in(role: str):
        client.force_login(make_user(f"{role}-queue@example.ru", role=role))
        return client

    return sign_in


def failed_task(func: str, *args, hook: str | None = None) -> Failure:
    Task.objects.create(
        id=uuid.uuid4().hex,
        name=f"failed-{func}",
        func=func,
        hook=hook,
        args=args,
        kwargs={},
        started=timezone.now(),
        stopped=timezone.now(),
        success=False,
    )
    return Failure.objects.get(func=func)


def schedule_form(schedule: Schedule, **changes) -> dict:
    next_run = timezone.localtime(schedule.next_run)
    data = {
        "name": schedule.name,
        "func": schedule.func,
        "hook": "",
        "args": "",
        "kwargs": "",
        "schedule_type": schedule.schedule_type,
        "minutes": schedule.minutes,
        "repeats": schedule.repeats,
        "next_run_0": next_run.strftime("%Y-%m-%d"),
        "next_run_1": next_run.strftime("%H:%M:%S"),
        "cron": "",
        "cluster": "",
        "intended_date_kwarg": "",
    }
    data.update(changes)
    return data


def test_the_admin_role_cannot_point_a_schedule_at_a_shell(as_role, schedule):
    client = as_role(Role.ADMIN)
    url = reverse("admin:django_q_schedule_change", args=[schedule.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="func"' not in page.content
    response = client.post(url, schedule_form(schedule, func=HOSTILE_FUNC))
    assert response.status_code == 403
    schedule.refresh_from_db()
    assert schedule.func == "sync.tasks.sync_all"


def test_the_admin_role_cannot_create_a_schedule(as_role):
    client = as_role(Role.ADMIN)
    add = reverse("admin:django_q_schedule_add")
    assert client.get(add).status_code == 403
    response = client.post(add, {"name": "x", "func": HOSTILE_FUNC, "schedule_type": "O"})
    assert response.status_code == 403
    assert not Schedule.objects.filter(func=HOSTILE_FUNC).exists()


def test_the_system_role_still_edits_schedules(as_role, schedule):
    client = as_role(Role.SYSTEM)
    url = reverse("admin:django_q_schedule_change", args=[schedule.pk])
    assert b'name="func"' in client.get(url).content
    response = client.post(url, schedule_form(schedule, func="catalog.tasks.refresh_catalog_all"))
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert schedule.func == "catalog.tasks.refresh_catalog_all"


def test_a_merchant_does_not_reach_the_queue(as_role, schedule):
    client = as_role(Role.USER)
    assert client.get(SCHEDULES).status_code == 302
    url = reverse("admin:django_q_schedule_change", args=[schedule.pk])
    client.post(url, schedule_form(schedule, func=HOSTILE_FUNC))
    schedule.refresh_from_db()
    assert schedule.func == "sync.tasks.sync_all"


def test_the_admin_role_pauses_and_resumes_a_schedule(as_role, schedule):
    client = as_role(Role.ADMIN)
    assert client.get(SCHEDULES).status_code == 200
    client.post(SCHEDULES, {"action": "pause_schedules", ACTION_CHECKBOX_NAME: [schedule.pk]})
    schedule.refresh_from_db()
    assert schedule.repeats == 0
    client.post(SCHEDULES, {"action": "resume_schedules", ACTION_CHECKBOX_NAME: [schedule.pk]})
    schedule.refresh_from_db()
    assert schedule.repeats == -1
    assert schedule.func == "sync.tasks.sync_all"


def test_the_admin_role_resubmits_a_failed_evosync_task(as_role):
    failure = failed_task("catalog.tasks.refresh_catalog_all")
    client = as_role(Role.ADMIN)
    client.post(FAILURES, {"action": "resubmit_failed", ACTION_CHECKBOX_NAME: [failure.pk]})
    # The test settings run the queue inline: the task ran again and the failure row went.
    assert not Failure.objects.filter(pk=failure.pk).exists()
    assert Success.objects.filter(func="catalog.tasks.refresh_catalog_all").exists()


@pytest.mark.parametrize(
    ("func", "hook"),
    [(HOSTILE_FUNC, None), ("catalog.tasks.refresh_catalog_all", HOSTILE_FUNC)],
    ids=["function", "hook"],
)
def test_the_admin_role_cannot_resubmit_a_foreign_function(as_role, func, hook):
    failure = failed_task(func, "id", hook=hook)
    client = as_role(Role.ADMIN)
    response = client.post(
        FAILURES,
        {"action": "resubmit_failed", ACTION_CHECKBOX_NAME: [failure.pk]},
        follow=True,
    )
    assert "system role" in response.content.decode() or "системн" in response.content.decode()
    assert Failure.objects.filter(pk=failure.pk).exists()
    assert not Success.objects.exists()


def test_the_system_role_resubmits_any_failed_task(as_role):
    failure = failed_task("math.floor", 1.5)
    client = as_role(Role.SYSTEM)
    client.post(FAILURES, {"action": "resubmit_failed", ACTION_CHECKBOX_NAME: [failure.pk]})
    assert Success.objects.get(func="math.floor").result == 1


def test_the_admin_role_cannot_resubmit_a_finished_task(as_role):
    Task.objects.create(
        id=uuid.uuid4().hex,
        name="done",
        func="catalog.tasks.refresh_catalog_all",
        started=timezone.now(),
        stopped=timezone.now(),
        success=True,
    )
    client = as_role(Role.ADMIN)
    page = client.get(SUCCESSES)
    assert page.status_code == 200
    assert b"resubmit_successful" not in page.content
    response = client.post(
        SUCCESSES,
        {"action": "resubmit_successful", ACTION_CHECKBOX_NAME: [Success.objects.get().pk]},
    )
    assert Success.objects.count() == 1
    assert response.status_code in (200, 302)


def test_the_allow_list_holds_evosync_tasks_and_nothing_of_django_q():
    from evosync.schedules import allowed_task_functions

    allowed = allowed_task_functions()
    assert {"sync.tasks.sync_all", "catalog.tasks.refresh_catalog_for_user"} <= allowed
    assert not {name for name in allowed if name.split(".")[0] not in django_apps.app_configs}
    assert "django_q.tasks.async_task" not in allowed


def test_the_migration_takes_back_what_the_admin_role_held_before():
    group = Group.objects.get(name=Role.ADMIN)
    group.permissions.add(*Permission.objects.filter(content_type__app_label="django_q"))
    migration = importlib.import_module("accounts.migrations.0003_admin_role_queue_permissions")

    class Editor:
        connection = connection

    migration.revoke_queue_changes(django_apps, Editor())
    held = set(
        group.permissions.filter(content_type__app_label="django_q").values_list(
            "codename", flat=True
        )
    )
    assert {"change_schedule", "change_failure", "view_schedule", "view_ormq"} <= held
    assert not {code for code in held if code.startswith(("add_", "delete_"))}
    assert "change_success" not in held and "change_ormq" not in held
