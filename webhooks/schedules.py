from evosync.schedules import ScheduleSpec, minutes_from_setting

SCHEDULES = [
    ScheduleSpec(
        name="evotor_events",
        func="webhooks.tasks.poll_evotor_events",
        minutes=minutes_from_setting("EVOTOR_EVENTS_INTERVAL_SECONDS"),
    ),
]
