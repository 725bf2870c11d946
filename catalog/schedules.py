from evosync.schedules import ScheduleSpec, hour_from_setting, minutes_from_setting

SCHEDULES = [
    # The full read: the reconciliation every other intake path relies on (README "Changes
    # from Evotor").
    ScheduleSpec(
        name="refresh_catalog",
        func="catalog.tasks.refresh_catalog_all",
        minutes=minutes_from_setting("CATALOG_REFRESH_INTERVAL_SECONDS"),
        at_hour=hour_from_setting("RECONCILE_HOUR"),
    ),
    # The `poll` intake: `since` reads per merchant; does nothing unless EVOTOR_INTAKE has it.
    ScheduleSpec(
        name="read_catalog_changes",
        func="catalog.tasks.read_changes_all",
        minutes=minutes_from_setting("EVOTOR_POLL_INTERVAL_SECONDS"),
    ),
]
