from evosync.schedules import ScheduleSpec, minutes_from_setting

SCHEDULES = [
    ScheduleSpec(
        name="refresh_catalog",
        func="catalog.tasks.refresh_catalog_all",
        minutes=minutes_from_setting("CATALOG_REFRESH_INTERVAL_SECONDS"),
    ),
]
SCHEDULES.append(
    ScheduleSpec(
        name="read_catalog_changes",
        func="catalog.tasks.read_changes_all",
        minutes=minutes_from_setting("EVOTOR_POLL_INTERVAL_SECONDS"),
    )
)
