"""Periodic tasks of the VK catalog, upserted by `manage.py setup_schedules`."""

from evosync.schedules import ScheduleSpec, minutes_from_setting

SCHEDULES = [
    ScheduleSpec(
        name="refresh_vk_catalog",
        func="vk_catalog.tasks.refresh_vk_catalog_all",
        minutes=minutes_from_setting("CATALOG_REFRESH_INTERVAL_SECONDS"),
    ),
]
