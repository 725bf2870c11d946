"""Publish merchants' catalogs to VK now, or print what a run would do.

    manage.py sync_to_vk --user owner@example.ru --dry-run   # the plan, nothing sent
    manage.py sync_to_vk --user owner@example.ru             # publish, with a progress bar
    manage.py sync_to_vk                                      # every merchant the schedule covers

One merchant's failure never stops the others; the command fails (exit 1, with a sentence on
stderr) when any run crashed or ended `failed`, so cron and CI notice.
"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from sync.models import RunAction, RunStatus, RunTrigger, SyncRun
from sync.plan.plan import Plan

ACTION_LABELS = {
    RunAction.CREATE: "create",
    RunAction.ADOPT: "adopt",
    RunAction.UPDATE: "update",
    RunAction.RESTORE: "show again",
    RunAction.HIDE: "hide",
    RunAction.DELETE: "delete",
}


class ProgressLine:
    """One progress line: redrawn in place on a terminal, printed every 10 % otherwise."""

    def __init__(self, stream, *, width: int = 30):
        self.stream = stream
        self.width = width
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.started = time.monotonic()
        self._last_tenth = -1
        self._last_text = ""

    def render(self, run: SyncRun) -> str:
        total = max(run.total, 0)
        done = min(run.done, total) if total else run.done
        share = done / total if total else (1.0 if run.finished_at else 0.0)
        filled = int(share * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        elapsed = time.monotonic() - self.started
        return (
            f"[{bar}] {done}/{total} {run.get_status_display()} · created {run.created}, "
            f"updated {run.updated}, hidden {run.hidden}, failed {run.failed}, "
            f"skipped {run.skipped} · {run.vk_requests} VK requests · {elapsed:.0f}s"
        )

    def update(self, run: SyncRun) -> None:
        text = self.render(run)
        if self.tty:
            self.stream.write("\r" + text.ljust(len(self._last_text)))
            self.stream.flush()
        else:
            tenth = int(10 * run.done / run.total) if run.total else 0
            if tenth != self._last_tenth:
                self.stream.write(text + "\n")
                self.stream.flush()
                self._last_tenth = tenth
        self._last_text = text

    def close(self, run: SyncRun) -> None:
        text = self.render(run)
        if self.tty:
            self.stream.write("\r" + text.ljust(len(self._last_text)) + "\n")
        elif text != self._last_text:
            self.stream.write(text + "\n")
        self.stream.flush()


def format_plan(plan: Plan, *, limit: int = 50) -> list[str]:
    counts = plan.counts
    lines = [
        "Plan: "
        + ", ".join(f"{ACTION_LABELS[a]} {counts[a]}" for a in ACTION_LABELS)
        + f", unchanged {counts['unchanged']}, skipped {counts['skipped']}",
        f"Albums: create {counts['albums_to_create']}, rename {counts['albums_to_rename']}",
    ]
    if counts["photo_unchecked"]:
        lines.append(
            f"Photos: {counts['photo_unchecked']} new items have no photo but Evotor's, not read "
            "yet: the run skips those Evotor has none for."
        )
    if plan.guard_held:
        lines.append(
            f"Removal guard: {plan.removals} of {plan.published} published items would be "
            f"removed (> {plan.guard_percent} %): the run would wait for confirmation."
        )
    if counts["vk_edits_overwritten"]:
        lines.append(
            f"Edits in VK: {counts['vk_edits_overwritten']} items were edited in VK in fields "
            "Evotor owns: the run puts Evotor's values back."
        )
    for kept in plan.kept_in_vk[:limit]:
        why = ", ".join(f"{name} ({reason})" for name, reason in kept.fields.items())
        lines.append(f"  = keep as in VK {kept.product_name}: {why}")
    lines.extend(_variant_lines(plan))
    for album in plan.albums_to_create:
        note = f" (adopts VK album {album.adopt_vk_album_id})" if album.adopt_vk_album_id else ""
        lines.append(f"  + album “{album.title}”{note}")
    shown = 0
    for item in plan.items:
        if shown >= limit:
            lines.append(f"  … and {len(plan.items) - shown} more")
            break
        shown += 1
        if item.skipped:
            lines.append(f"  ! skip {item.product_name}: {', '.join(item.flags)}")
            continue
        changes = "; ".join(
            f"{field}: {old!r} → {new!r}" for field, (old, new) in item.changes.items()
        )
        target = f" (VK item {item.vk_item_id})" if item.vk_item_id else ""
        if item.overwrites:
            changes += f" [overwrites the edit in VK: {', '.join(item.overwrites)}]"
        lines.append(f"  {ACTION_LABELS[item.action]} {item.product_name}{target}: {changes}")
    return lines


def _variant_lines(plan: Plan) -> list[str]:
    """Each product with variants: its variants in VK (* the main one), those waiting for a fix,
    those published as separate items and why (sync/plan/variants.py NOTE_*)."""
    lines = []
    for group in plan.variants.groups:
        shown = ", ".join(
            " / ".join(value for _name, value in m.choices) + ("*" if m.is_main else "")
            for m in group.members
        )
        grouping = " (grouped by this run)" if group.needs_grouping else ""
        properties = ", ".join(group.properties)
        lines.append(f"  ≡ variants “{group.name}” [{properties}]: {shown or '-'}{grouping}")
        for member in group.waiting:
            choice = " / ".join(value for _name, value in member.choices)
            lines.append(f"    waiting for a fix: {choice} ({member.product_name})")
        for _product_id, name, note in group.separate:
            lines.append(f"    separate item {name}: {note}")
    return lines


class Command(BaseCommand):
    help = "Publish the selected Evotor products to VK Market (or print the plan with --dry-run)."

    def add_arguments(self, parser):
        parser.add_argument("--user", metavar="EMAIL", help="only this merchant")
        parser.add_argument(
            "--dry-run", action="store_true", help="print the plan; send nothing to VK"
        )
        parser.add_argument(
            "--limit", type=int, default=50, help="items listed by --dry-run (default 50)"
        )
        parser.add_argument(
            "--naive",
            action="store_true",
            help="one VK request per call, no execute (for benchmarks only)",
        )

    def handle(self, *args, user=None, dry_run=False, limit=50, naive=False, **options):
        from accounts.models import User
        from sync.lifecycle import sync_run_create, users_to_sync
        from sync.plan.preview import sync_run_preview
        from sync.publish.run import sync_run_execute_to_end

        if user:
            merchant = User.objects.filter(email__iexact=user.strip()).first()
            if merchant is None:
                raise CommandError(f"No user with the e-mail {user!r}.")
            merchants = [merchant]
        else:
            merchants = list(User.objects.filter(pk__in=users_to_sync()).order_by("pk"))
            if not merchants:
                self.stdout.write("No merchant to publish for.")
                return

        crashed = []
        failed = []
        for merchant in merchants:
            self.stdout.write(f"== {merchant.email}")
            try:
                if dry_run:
                    for line in format_plan(sync_run_preview(user=merchant), limit=limit):
                        self.stdout.write(line)
                    continue
                run = sync_run_create(user=merchant, trigger=RunTrigger.MANUAL)
                progress = ProgressLine(getattr(self.stderr, "_out", sys.stderr))
                run = sync_run_execute_to_end(run=run, naive=naive, progress=progress.update)
                progress.close(run)
            except Exception as exc:  # one merchant's crash never stops the others
                crashed.append(merchant.email)
                self.stderr.write(f"{merchant.email}: crashed ({type(exc).__name__}: {exc})")
                continue
            self.stdout.write(
                f"Run #{run.pk}: {run.status}"
                + (f" ({run.stop_cause})" if run.stop_cause else "")
                + f" · created {run.created}, updated {run.updated}, hidden {run.hidden}, "
                f"restored {run.restored}, deleted {run.deleted}, adopted {run.adopted}, "
                f"failed {run.failed}, skipped {run.skipped}, albums {run.albums_created} · "
                f"{run.vk_requests} VK requests"
                + (f" · {run.duration.total_seconds():.1f}s" if run.duration else "")
            )
            if run.error:
                self.stdout.write(f"  {run.error}")
            if run.status == RunStatus.HELD:
                self.stdout.write("  Confirm the run on the publishing page to go on.")
            if run.status == RunStatus.FAILED:
                failed.append(merchant.email)
        problems = []
        if crashed:
            problems.append(f"{len(crashed)} run(s) crashed ({', '.join(crashed)}); see the log.")
        if failed:
            problems.append(
                f"{len(failed)} run(s) failed ({', '.join(failed)}); the reason is printed above "
                "and kept on the run."
            )
        if problems:
            raise CommandError(" ".join(problems))
