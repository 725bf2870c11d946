"""What a run keeps for the merchant reads in their language: run errors are stored in the
site's language (Russian) whatever started the run; the engine's own item reasons are stored as
codes and put into words by whoever shows them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation
from django.utils.translation import gettext

from sync import reasons
from sync.models import RunStatus, SyncRunItem
from sync.reasons import reason_text

CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)
LOCALE = Path(__file__).resolve().parents[2] / "sync" / "locale"


def test_a_runs_error_is_stored_in_russian_even_when_an_english_page_started_it(shop):
    shop.vk.fail(100, method="market.add", count=1, message="bad item")
    with translation.override("en"):
        run = shop.sync()
    assert run.status == RunStatus.PARTIAL
    assert CYRILLIC.search(run.error), run.error


def test_an_unreadable_photo_fails_the_item_with_a_reason_shown_in_the_readers_language(
    shop, settings, tmp_path
):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"this is not a picture")
    settings.VK_DEFAULT_PHOTO_PATH = str(broken)
    shop.add("nophoto", "Товар без фото", image=False)
    shop.refresh()
    run = shop.sync()
    assert (run.created, run.failed) == (5, 1)
    item = SyncRunItem.objects.get(run=run, status="failed")
    assert item.error == reasons.PHOTO_UNREADABLE
    with translation.override("ru"):
        assert reason_text(item.error).startswith("Фото не удалось прочитать")
    with translation.override("en"):
        assert reason_text(item.error).startswith("The photo could not be read")
    assert reasons.is_photo_problem(item.error)


def test_vks_own_message_is_shown_as_it_is():
    assert reason_text("Item is too cheap (100)") == "Item is too cheap (100)"
    assert reason_text("") == ""


def test_texts_stored_before_the_codes_still_read_in_words():
    with translation.override("ru"):
        assert reason_text("no photo in Evotor and none uploaded") == str(
            reasons.REASONS["no_photo"]
        )
        assert CYRILLIC.search(reason_text("photo unreadable: cannot identify image file"))
    assert reasons.is_photo_problem("photo unreadable: truncated")


def test_every_reason_and_the_run_messages_have_a_russian_translation():
    with translation.override("ru"):
        for code, text in reasons.REASONS.items():
            assert CYRILLIC.search(str(text)), code
        assert gettext("The run was queued but never started; start a new one.") == (
            "Запуск стоял в очереди, но так и не начался; запустите новый."
        )
        assert gettext("Publishing") == "Публикация"
    catalog = (LOCALE / "ru" / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    assert "#, fuzzy" not in catalog


@pytest.mark.skipif(not shutil.which("msgattrib"), reason="needs GNU gettext")
def test_a_fresh_makemessages_finds_every_string_translated_and_compiles(tmp_path, monkeypatch):
    """What `makemessages` then `compilemessages` would do inside sync/, on a copy: no string
    without a Russian translation, none fuzzy, and msgfmt accepts every format string."""
    copy = tmp_path / "sync"
    shutil.copytree(LOCALE.parent, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["ru"], verbosity=0)
    po = copy / "locale" / "ru" / "LC_MESSAGES" / "django.po"

    def entries(*options) -> list[str]:
        out = subprocess.run(
            ["msgattrib", *options, str(po)], capture_output=True, text=True, check=True
        ).stdout
        return [line for line in out.splitlines() if line.startswith("msgid ")][1:]

    assert entries("--untranslated", "--no-obsolete") == []
    assert entries("--only-fuzzy", "--no-obsolete") == []
    subprocess.run(
        ["msgfmt", "--check-format", "-o", str(tmp_path / "django.mo"), str(po)], check=True
    )
