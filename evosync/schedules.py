"""Periodic tasks declared in code and upserted by name by `manage.py setup_schedules`.

An app declares its schedules in `<app>/schedules.py`:

    from evosync.schedules import ScheduleSpec, minutes_from_setting

    SCHEDULES = [
        ScheduleSpec(
            name="refresh_catalog",
            func="catalog.tasks.refresh_catalog_all",
            minutes=minutes_from_setting("CATALOG_REFRESH_INTERVAL_SECONDS"),
        ),
    ]

`setup_schedules` (run on every deploy, after `migrate`) finds these lists over
INSTALLED_APPS and makes the django-q2 `Schedule` table match them (django-q2
docs/schedules.rst; docs/contracts/ops-stack.md §1.4: never from `AppConfig.ready()`, where every process
would race to create the same rows).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import module_has_submodule

from evosync.queues import lane_cluster, task_lane

# django_q.models.Schedule's type codes, repeated here so app modules can build specs without
# importing models (they are imported while the app registry is still loading).
MINUTES = "I"
HOURLY = "H"
DAILY = "D"
WEEKLY = "W"
_INTERVAL_TYPES = {MINUTES, HOURLY, DAILY, WEEKLY}


def minutes_from_setting(name: str) -> Callable[[], int]:
    """A `minutes` value read from a `*_SECONDS` setting when the command runs (rounded up, ≥ 1)."""

    def minutes() -> int:
        return max(1, math.ceil(getattr(settings, name) / 60))

    minutes.__qualname__ = f"minutes_from_setting({name!r})"
    return minutes


def hour_from_setting(name: str) -> Callable[[], int]:
    """An `at_hour` value read from a setting when the command runs."""

    def hour() -> int:
        return int(getattr(settings, name))

    hour.__qualname__ = f"hour_from_setting({name!r})"
    return hour


@dataclass(frozen=True)
class ScheduleSpec:
    """One django-q2 schedule, identified by its `name`.

    `minutes` is an int or a callable returning one (evaluated by the command, so intervals
    follow the settings of the deploy). `args`/`kwargs` are django-q2's literal strings
    (`"1, 'x'"`, `"full=True"`): never put a token there, the admin shows them.
    """

    name: str
    func: str
    minutes: int | Callable[[], int] | None = None
    schedule_type: str = MINUTES
    args: str = ""
    kwargs: str = ""
    hook: str = ""
    # The hour of the day (site's TIME_ZONE) every run falls at, when the interval is whole
    # days. None, or a shorter interval: the first run is now.
    at_hour: int | Callable[[], int] | None = None

    def __post_init__(self):
        if self.schedule_type not in _INTERVAL_TYPES:
            raise ValueError(f"Schedule {self.name!r}: unsupported type {self.schedule_type!r}.")
        if (self.schedule_type == MINUTES) != (self.minutes is not None):
            raise ValueError(f"Schedule {self.name!r}: `minutes` goes with the MINUTES type only.")

    def resolved_minutes(self) -> int | None:
        if self.minutes is None:
            return None
        value = self.minutes() if callable(self.minutes) else self.minutes
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"Schedule {self.name!r}: minutes must be a whole number ≥ 1.")
        return value

    def first_run(self, now: datetime) -> datetime:
        """When a new (or newly timed) schedule runs first: the next `at_hour` when the
        interval is whole days (so every run falls at that hour), else now."""
        minutes = self.resolved_minutes()
        if self.at_hour is None or (minutes is not None and minutes % (24 * 60)):
            return now
        hour = self.at_hour() if callable(self.at_hour) else self.at_hour
        local = timezone.localtime(now)
        start = local.replace(hour=hour, minute=0, second=0, microsecond=0)
        return start if start > local else start + timedelta(days=1)

    def fields(self) -> dict:
        """The columns of `Schedule` this spec owns (kept in sync on every run). `cluster` is
        the lane of `func` (evosync.queues.TASK_LANES): that lane's scheduler sends the task,
        into that lane's queue.

        `repeats` and `next_run` are not among them: an operator who paused a schedule in the
        admin (repeats = 0) keeps it paused across deploys.
        """
        return {
            "func": self.func,
            "hook": self.hook or None,
            "args": self.args or None,
            "kwargs": self.kwargs or None,
            "schedule_type": self.schedule_type,
            "minutes": self.resolved_minutes(),
            "cluster": lane_cluster(task_lane(self.func)),
        }


def collect_schedules() -> list[ScheduleSpec]:
    """Every `SCHEDULES` list of the installed apps, in INSTALLED_APPS order."""
    specs: list[ScheduleSpec] = []
    for app_config in apps.get_app_configs():
        if not module_has_submodule(app_config.module, "schedules"):
            continue
        module = import_module(f"{app_config.name}.schedules")
        for spec in getattr(module, "SCHEDULES", []):
            if not isinstance(spec, ScheduleSpec):
                raise TypeError(f"{module.__name__}.SCHEDULES holds {spec!r}, not a ScheduleSpec.")
            specs.append(spec)
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"Schedule names must be unique; declared twice: {', '.join(duplicates)}.")
    return specs


def allowed_task_functions() -> frozenset[str]:
    """Dotted paths of the functions staff may put back on the queue (evosync/admin.py).

    Every function a schedule declares, and every public function defined in the `tasks` module
    of one of EvoSync's own apps (the packages next to manage.py: django-q2's own `tasks`
    module holds `async_task`, which runs anything). Anything else in a failed task's `func` (a hand-made schedule, a
    row written straight into the database) may only be resubmitted by the system role: the
    worker imports and runs whatever dotted path it is given.
    """
    allowed = {spec.func for spec in collect_schedules()}
    for app_config in apps.get_app_configs():
        own_app = Path(app_config.path).parent == Path(settings.BASE_DIR)
        if not own_app or not module_has_submodule(app_config.module, "tasks"):
            continue
        module = import_module(f"{app_config.name}.tasks")
        for name, value in vars(module).items():
            if (
                not name.startswith("_")
                and inspect.isfunction(value)
                and value.__module__ == module.__name__
            ):
                allowed.add(f"{module.__name__}.{name}")
    return frozenset(allowed)
