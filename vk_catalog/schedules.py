"""Periodic tasks of the VK catalog, upserted by `manage.py setup_schedules`."""

from evosync.schedules import ScheduleSpec, hour_from_setting, minutes_from_setting

SCHEDULES = [
    # A slow re-read of every merchant's VK catalog, to notice what changed in VK by hand; a
    # merchant's page, adoption and errors that suggest drift ask for one when needed.
    ScheduleSpec(
        name="refresh_vk_catalog",
        func="vk_catalog.tasks.refresh_vk_catalog_all",
        minutes=minutes_from_setting("VK_CATALOG_REFRESH_INTERVAL_SECONDS"),
        at_hour=hour_from_setting("RECONCILE_HOUR"),
    ),
]
