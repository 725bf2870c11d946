"""Helpers for the foundation tests: clean subprocess environments, free ports, a .po reader."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
MANAGE = str(BASE_DIR / "manage.py")


def clean_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """An environment with none of the developer's variables (and an empty ENV_FILE)."""
    env_file = tmp_path / "empty.env"
    env_file.touch()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "ENV_FILE": str(env_file),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    env.update(variables)
    return env


def production_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """What an operator must set for DEBUG off, with throw-away secrets."""
    required = {
        "SECRET_KEY": "test-" + "x7Kq2mZ9" * 8,
        "ALLOWED_HOSTS": "evosync.example.ru",
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    return clean_env(tmp_path, **{**required, **variables})


def run_manage(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, MANAGE, *args],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def settings_values(env: dict[str, str], *names: str) -> dict:
    """Import evosync.settings in a fresh interpreter with `env` and return the named values."""
    code = (
        "import json, pathlib, evosync.settings as s; "
        "plain = lambda o: str(o) if isinstance(o, pathlib.PurePath) else type(o).__name__; "
        f"print(json.dumps({{n: getattr(s, n) for n in {list(names)!r}}}, default=plain))"
    )
    result = subprocess.run(
        [PYTHON, "-c", code], env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- .po files ---------------------------------------------------------------------------------


@dataclass
class PoEntry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstrs: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)


def _unquote(text: str) -> str:
    return json.loads(text) if text.startswith('"') else text


def read_po(path: Path) -> list[PoEntry]:
    """The live entries of a .po file (obsolete `#~` entries skipped), header included."""
    entries: list[PoEntry] = []
    entry = PoEntry()
    current: tuple[str, int] | None = None
    started = False

    def finish():
        nonlocal entry, started, current
        if started:
            entries.append(entry)
        entry, started, current = PoEntry(), False, None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#,"):
            if started and current and current[0] != "comment":
                finish()
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            value = _unquote(line)
            kind, index = current
            if kind == "msgid":
                entry.msgid += value
            elif kind == "msgctxt":
                entry.msgctxt += value
            elif kind == "msgid_plural":
                entry.msgid_plural += value
            else:
                entry.msgstrs[index] += value
            continue
        if keyword in ("msgctxt", "msgid") and started and current and current[0] == "msgstr":
            finish()
        started = True
        if keyword == "msgctxt":
            entry.msgctxt, current = _unquote(rest), ("msgctxt", 0)
        elif keyword == "msgid":
            entry.msgid, current = _unquote(rest), ("msgid", 0)
        elif keyword == "msgid_plural":
            entry.msgid_plural, current = _unquote(rest), ("msgid_plural", 0)
        elif keyword == "msgstr" or keyword.startswith("msgstr["):
            entry.msgstrs.append(_unquote(rest))
            current = ("msgstr", len(entry.msgstrs) - 1)
    finish()
    return entries


def po_files(root: Path = BASE_DIR) -> list[Path]:
    """Every catalog of the project (root and apps), not those of installed packages."""
    skip = {".venv", ".git", "staticfiles", "node_modules"}
    return sorted(
        path
        for path in root.glob("**/locale/*/LC_MESSAGES/*.po")
        if not skip.intersection(path.relative_to(root).parts)
    )
