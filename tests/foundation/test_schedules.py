"""`manage.py setup_schedules`: schedules declared in code, upserted by name."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils.module_loading import import_string
from django_q.models import Schedule

from evosync.schedules import ScheduleSpec, collect_schedules, minutes_from_setting

pytestmark = pytest.mark.django_db

TEST_APP = "tests.foundation.schedule_app"


@pytest.fixture
def schedule_app(settings):
    """An extra installed app whose schedules.py declares two schedules."""
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, TEST_APP]
    settings.FOUNDATION_PING_SECONDS = 600
    return settings


def _run(*args) -> str:
    out = StringIO()
    call_command("setup_schedules", *args, stdout=out)
    return out.getvalue()


def _ours():
    return Schedule.objects.filter(name__startswith="foundation_")


def test_setup_creates_each_declared_schedule(schedule_app):
    output = _run()
    ping = Schedule.objects.get(name="foundation_ping")
    assert ping.func == f"{TEST_APP}.tasks.ping"
    assert ping.schedule_type == Schedule.MINUTES
    assert ping.minutes == 10
    assert ping.repeats == -1
    assert Schedule.objects.get(name="foundation_daily").schedule_type == Schedule.DAILY
    assert "created foundation_ping" in output


def test_setup_is_idempotent(schedule_app):
    _run()
    output = _run()
    assert sorted(_ours().values_list("name", flat=True)) == ["foundation_daily", "foundation_ping"]
    assert "unchanged foundation_ping" in output
    assert "0 created, 0 updated" in output


def test_setup_follows_a_changed_interval_and_moves_the_next_run_closer(schedule_app):
    _run()
    Schedule.objects.filter(name="foundation_ping").update(next_run="2999-01-01T00:00:00Z")
    schedule_app.FOUNDATION_PING_SECONDS = 120
    output = _run()
    ping = Schedule.objects.get(name="foundation_ping")
    assert ping.minutes == 2
    assert ping.next_run.year < 2999
    assert "updated foundation_ping: minutes 10 → 2" in output
    assert _ours().filter(name="foundation_ping").count() == 1


def test_setup_removes_duplicates_of_a_name(schedule_app):
    for _ in range(3):
        Schedule.objects.create(
            name="foundation_ping", func="math.floor", schedule_type=Schedule.MINUTES, minutes=5
        )
    first = Schedule.objects.filter(name="foundation_ping").order_by("pk").first()
    _run()
    survivors = Schedule.objects.filter(name="foundation_ping")
    assert list(survivors.values_list("pk", flat=True)) == [first.pk]
    assert survivors.get().func == f"{TEST_APP}.tasks.ping"


def test_setup_keeps_a_schedule_paused_in_the_admin_paused(schedule_app):
    _run()
    Schedule.objects.filter(name="foundation_ping").update(repeats=0)
    _run()
    assert Schedule.objects.get(name="foundation_ping").repeats == 0


def test_setup_leaves_hand_made_schedules_alone(schedule_app):
    Schedule.objects.create(name="by hand", func="math.floor", schedule_type=Schedule.DAILY)
    output = _run()
    assert Schedule.objects.filter(name="by hand").exists()
    assert "left alone (not declared in code): by hand" in output


def test_dry_run_writes_nothing(schedule_app):
    output = _run("--dry-run")
    assert not _ours().exists()
    assert "Dry run, nothing written" in output
    assert (
        "created foundation_ping: tests.foundation.schedule_app.tasks.ping every 10 min" in output
    )


def test_setup_refuses_a_schedule_naming_a_missing_function(schedule_app, monkeypatch):
    from tests.foundation.schedule_app import schedules

    monkeypatch.setattr(
        schedules,
        "SCHEDULES",
        [ScheduleSpec(name="foundation_broken", func=f"{TEST_APP}.tasks.nope", minutes=5)],
    )
    with pytest.raises(CommandError, match="foundation_broken"):
        _run()
    assert not _ours().exists()


def test_spec_rejects_minutes_on_a_daily_schedule():
    with pytest.raises(ValueError, match="minutes"):
        ScheduleSpec(name="x", func="math.floor", schedule_type="D", minutes=5)


def test_minutes_from_setting_rounds_seconds_up(settings):
    settings.FOUNDATION_PING_SECONDS = 61
    assert minutes_from_setting("FOUNDATION_PING_SECONDS")() == 2
    settings.FOUNDATION_PING_SECONDS = 1
    assert minutes_from_setting("FOUNDATION_PING_SECONDS")() == 1


def test_every_scheduled_function_imports():
    """Covers the schedules of every app, present and future."""
    for spec in collect_schedules():
        for path in filter(None, (spec.func, spec.hook)):
            assert callable(import_string(path)), f"{spec.name}: {path}"
        assert spec.fields()["schedule_type"]
