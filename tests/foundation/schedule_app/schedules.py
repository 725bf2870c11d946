from evosync.schedules import DAILY, ScheduleSpec, minutes_from_setting

SCHEDULES = [
    ScheduleSpec(
        name="foundation_ping",
        func="tests.foundation.schedule_app.tasks.ping",
        minutes=minutes_from_setting("FOUNDATION_PING_SECONDS"),
    ),
    ScheduleSpec(
        name="foundation_daily",
        func="tests.foundation.schedule_app.tasks.ping",
        schedule_type=DAILY,
    ),
]
