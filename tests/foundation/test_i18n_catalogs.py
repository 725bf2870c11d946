"""Translation catalogs: complete, compiled, and current with the source (root and every app)."""

import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.foundation.helpers import BASE_DIR, PYTHON, po_files, read_po

CATALOGS = po_files()
# What goes into the copy of the tree for makemessages: sources only.
NOT_COPIED = {
    ".venv",
    ".git",
    "staticfiles",
    "var",
    "screenshots",
    ".pytest_cache",
    ".ruff_cache",
    "__pycache__",
    "node_modules",
}
TRANSLATABLE = re.compile(
    r"{%\s*(?:translate|trans|blocktranslate|blocktrans)\b|\b(?:n|p|np)?gettext(?:_lazy)?\(|\b_\("
)


def _id(path: Path) -> str:
    return str(path.relative_to(BASE_DIR))


def test_the_project_has_a_root_catalog_in_russian_and_english():
    assert BASE_DIR / "locale/ru/LC_MESSAGES/django.po" in CATALOGS
    assert BASE_DIR / "locale/en/LC_MESSAGES/django.po" in CATALOGS


@pytest.mark.parametrize("po", CATALOGS, ids=_id)
def test_catalog_has_no_fuzzy_and_no_untranslated_russian_entries(po):
    entries = read_po(po)
    fuzzy = [entry.msgid or "(header)" for entry in entries if "fuzzy" in entry.flags]
    assert fuzzy == [], "review these entries and delete their `#, fuzzy` line"
    if po.parts[-3] == "ru":
        untranslated = [e.msgid for e in entries if e.msgid and not all(e.msgstrs)]
        assert untranslated == [], "every Russian msgstr must be filled"


@pytest.mark.skipif(not shutil.which("msgfmt"), reason="msgfmt (gettext) is not installed")
@pytest.mark.parametrize("po", CATALOGS, ids=_id)
def test_committed_mo_matches_a_fresh_compile_of_its_po(po, tmp_path):
    committed = po.with_suffix(".mo")
    assert committed.is_file(), f"{_id(committed)} is missing: run `make messages`"
    fresh = tmp_path / "fresh.mo"
    result = subprocess.run(
        ["msgfmt", "--check-format", "-o", str(fresh), str(po)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    with committed.open("rb") as a, fresh.open("rb") as b:
        assert gettext.GNUTranslations(a)._catalog == gettext.GNUTranslations(b)._catalog


def test_every_mo_has_its_po():
    for mo in BASE_DIR.glob("**/locale/*/LC_MESSAGES/*.mo"):
        if not NOT_COPIED.intersection(mo.relative_to(BASE_DIR).parts):
            assert mo.with_suffix(".po").is_file(), _id(mo)


def test_every_app_with_translatable_text_has_its_own_catalog():
    """`make messages` ignores app folders at the root: an app without a catalog is lost."""
    for apps_py in sorted(BASE_DIR.glob("*/apps.py")):
        app = apps_py.parent
        if app.name == "evosync":
            continue  # its strings live in the root catalog
        sources = [
            path
            for pattern in ("**/*.py", "**/*.html", "**/*.txt")
            for path in app.glob(pattern)
            if "migrations" not in path.parts and "locale" not in path.parts
        ]
        if any(TRANSLATABLE.search(path.read_text(encoding="utf-8")) for path in sources):
            assert (app / "locale/ru/LC_MESSAGES/django.po").is_file(), (
                f"{app.name} has translatable text but no catalog: create {app.name}/locale/ "
                "and run `make messages`"
            )


def _copy_sources(destination: Path) -> None:
    for entry in BASE_DIR.iterdir():
        if (
            entry.name in NOT_COPIED
            or entry.name.startswith("db.sqlite3")
            or entry.suffix == ".egg-info"
        ):
            continue
        if entry.is_dir():
            shutil.copytree(
                entry, destination / entry.name, ignore=shutil.ignore_patterns(*NOT_COPIED)
            )
        else:
            shutil.copy2(entry, destination / entry.name)


def _msgids(po: Path) -> set[tuple]:
    return {entry.key for entry in read_po(po) if entry.msgid}


@pytest.mark.skipif(
    not (shutil.which("xgettext") and shutil.which("msgmerge")),
    reason="xgettext/msgmerge (gettext) are not installed, catalogs cannot be regenerated",
)
@pytest.mark.skipif(not shutil.which("make"), reason="make is not installed")
def test_catalogs_are_current_with_the_source(tmp_path):
    """`make messages` on a copy of the tree finds no string the committed catalogs lack."""
    copy = tmp_path / "tree"
    copy.mkdir()
    _copy_sources(copy)
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            ".venv/.installed",
            "messages",
            f"BIN={Path(PYTHON).parent}",
        ],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    fresh_catalogs = po_files(copy)
    committed = {po.relative_to(BASE_DIR) for po in CATALOGS}
    created = sorted(
        str(po.relative_to(copy)) for po in fresh_catalogs if po.relative_to(copy) not in committed
    )
    assert created == [], "make messages created catalogs that are not committed"
    stale = {}
    for po in CATALOGS:
        new = _msgids(copy / po.relative_to(BASE_DIR)) - _msgids(po)
        if new:
            stale[_id(po)] = sorted(msgid for _, msgid in new)
    assert stale == {}, "strings missing from the catalogs: run `make messages` and translate"
