"""`manage.py setup_schedules`: make django-q2's schedules match the `SCHEDULES` in code.

Run on every deploy after `migrate` (docker compose's one-shot `migrate` service does). Safe to
run any number of times: schedules are upserted by name, duplicates of a name are removed, and
schedules an operator added by hand in the admin are left alone.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule

from evosync.schedules import MINUTES, ScheduleSpec, collect_schedules


def _describe(fields: dict) -> str:
    if fields["schedule_type"] == MINUTES:
        return f"{fields['func']} every {fields['minutes']} min"
    return f"{fields['func']} ({dict(Schedule.TYPE)[fields['schedule_type']]})"


class Command(BaseCommand):
    help = "Create or update the periodic task schedules declared in <app>/schedules.py."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would change without writing."
        )

    def handle(self, *args, dry_run: bool = False, **options):
        try:
            specs = collect_schedules()
            planned = [(spec, spec.fields()) for spec in specs]
        except (ValueError, TypeError, ImportError) as exc:
            raise CommandError(str(exc)) from exc
        for spec, fields in planned:
            self._check_importable(spec, fields)

        counts = {"created": 0, "updated": 0, "unchanged": 0}
        with transaction.atomic():
            for spec, fields in planned:
                counts[self._apply(spec, fields, dry_run=dry_run)] += 1
        declared = {spec.name for spec in specs}
        for name in (
            Schedule.objects.exclude(name__in=declared).values_list("name", flat=True).distinct()
        ):
            self.stdout.write(f"left alone (not declared in code): {name or '(unnamed)'}")
        prefix = "Dry run, nothing written. Would have: " if dry_run else "Schedules: "
        self.stdout.write(
            self.style.SUCCESS(
                f"{prefix}{counts['created']} created, {counts['updated']} updated, "
                f"{counts['unchanged']} unchanged."
            )
        )

    def _check_importable(self, spec: ScheduleSpec, fields: dict) -> None:
        for path in filter(None, (fields["func"], fields["hook"])):
            try:
                target = import_string(path)
            except ImportError as exc:
                raise CommandError(f"Schedule {spec.name!r} names {path!r}: {exc}") from exc
            if not callable(target):
                raise CommandError(f"Schedule {spec.name!r} names {path!r}, which is not callable.")

    def _apply(self, spec: ScheduleSpec, fields: dict, *, dry_run: bool) -> str:
        rows = list(Schedule.objects.filter(name=spec.name).order_by("pk"))
        if len(rows) > 1:
            # Left by an older deploy or a hand-made copy: two rows would run the task twice.
            self.stdout.write(f"removed {len(rows) - 1} duplicate(s) of {spec.name}")
            if not dry_run:
                Schedule.objects.filter(pk__in=[row.pk for row in rows[1:]]).delete()
        current = rows[0] if rows else None
        now = timezone.now()

        if current is None:
            self.stdout.write(f"created {spec.name}: {_describe(fields)}")
            if not dry_run:
                Schedule.objects.update_or_create(
                    name=spec.name,
                    defaults=fields,
                    create_defaults={**fields, "repeats": -1, "next_run": spec.first_run(now)},
                )
            return "created"

        changes = {
            key: (getattr(current, key), value)
            for key, value in fields.items()
            if getattr(current, key) != value
        }
        if not changes:
            self.stdout.write(f"unchanged {spec.name}: {_describe(fields)}")
            return "unchanged"
        defaults = dict(fields)
        first_run = spec.first_run(now)
        if first_run != now:
            # A new interval of whole days starts at its hour, not at the time of the deploy.
            defaults["next_run"] = first_run
        elif fields["minutes"] and current.next_run:
            # A shorter interval takes effect now, not after the old, longer wait.
            defaults["next_run"] = min(current.next_run, now + timedelta(minutes=fields["minutes"]))
        described = ", ".join(f"{key} {old!r} → {new!r}" for key, (old, new) in changes.items())
        self.stdout.write(f"updated {spec.name}: {described}")
        if not dry_run:
            Schedule.objects.update_or_create(name=spec.name, defaults=defaults)
        return "updated"
