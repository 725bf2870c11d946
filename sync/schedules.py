"""Publishing's periodic task (upserted by `manage.py setup_schedules`, evosync/schedules.py)."""

from evosync.schedules import ScheduleSpec, minutes_from_setting

SCHEDULES = [
    ScheduleSpec(
        name="sync_to_vk",
        func="sync.tasks.sync_all",
        minutes=minutes_from_setting("SYNC_INTERVAL_SECONDS"),
    ),
    # Targeted publishes whose task was lost (worker killed, broker emptied): sent again.
    ScheduleSpec(name="publish_changes_sweep", func="sync.tasks.publish_changes_sweep", minutes=1),
]
