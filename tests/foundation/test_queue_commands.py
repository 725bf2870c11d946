"""django-q2's `qinfo` (README: "qinfo and qmonitor show its state") draws with `blessed`,
which django-q2 does not declare: EvoSync depends on it for that (pyproject.toml)."""

from django.core.management import call_command


def test_qinfo_shows_the_queue(db, capsys):
    call_command("qinfo")
    assert "Evosync" in capsys.readouterr().out
