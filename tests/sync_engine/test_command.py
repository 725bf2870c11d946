"""`manage.py sync_to_vk`: prints the plan, or publishes with a progress line."""

import io

import pytest
from django.core.management import CommandError, call_command

from sync.models import RunStatus, SyncRun


def run_command(*args, **options):
    out, err = io.StringIO(), io.StringIO()
    call_command("sync_to_vk", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_dry_run_prints_the_plan_and_sends_nothing(shop):
    out, _ = run_command("--user", shop.user.email, "--dry-run")
    assert "Plan: create 5" in out
    assert "Чай чёрный листовой" in out and "'ART-tea'" in out
    assert "album “Напитки”" in out
    assert shop.write_calls() == 0
    assert not SyncRun.objects.exists()


def test_dry_run_prints_a_product_with_variants_as_one_line(shop):
    from tests.sync_engine.test_variants import add_tees

    add_tees(shop)
    out, _ = run_command("--user", shop.user.email, "--dry-run")
    assert "≡ variants “Футболка” [Размер]: S*, M, L (grouped by this run)" in out
    assert shop.write_calls() == 0


def test_publishing_prints_progress_and_the_outcome(shop):
    out, err = run_command("--user", shop.user.email.upper())
    assert "succeeded" in out and "created 5" in out
    assert "5/5" in err  # the progress line (not a terminal: a line per step)
    run = SyncRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED and run.trigger == "manual"
    assert len(shop.vk_items()) == 5


def test_unknown_user_is_a_clear_error(db):
    with pytest.raises(CommandError, match="No user with the e-mail"):
        run_command("--user", "nobody@example.ru")


def test_without_a_user_it_publishes_for_every_merchant_the_schedule_covers(shop):
    out, _ = run_command()
    assert "No merchant to publish for." in out  # first publish not done yet
    shop.sync()
    shop.set("tea", price=170)
    shop.refresh()
    out, _ = run_command()
    assert shop.user.email in out and "updated 1" in out


def test_progress_line_redraws_in_place_on_a_terminal():
    from sync.management.commands.sync_to_vk import ProgressLine

    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    line = ProgressLine(stream)
    run = SyncRun(total=10, done=3, status=RunStatus.RUNNING, vk_requests=2)
    line.update(run)
    run.done = 10
    line.close(run)
    text = stream.getvalue()
    assert text.startswith("\r[") and "3/10" in text and "\r[" in text[1:]
    assert text.endswith("\n") and "10/10" in text


def test_a_failed_run_makes_the_command_exit_non_zero_with_a_sentence(shop):
    shop.vk.fail(12, method="execute")  # VK cannot run our script: the run ends `failed`
    with pytest.raises(CommandError, match=r"1 run\(s\) failed \(owner@example.ru\)"):
        run_command("--user", shop.user.email)
    assert SyncRun.objects.get().status == RunStatus.FAILED
