"""No `except ImportError` between the project's own modules (issue 9): such a guard hid an
import cycle and would swallow a real import error. The layers are enforced by import-linter
(`make lint`); this keeps the guards from coming back. Validating a dotted path an operator
wrote (setup_schedules) is the one place an ImportError is an answer, not a guard."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("evosync", "accounts", "connections", "catalog", "vk_catalog", "sync", "webhooks")
ALLOWED = {"evosync/management/commands/setup_schedules.py"}


def import_error_handlers(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            names = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            if any(
                isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError")
                for n in names
            ):
                lines.append(node.lineno)
    return lines


def test_no_app_module_guards_an_import():
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative in ALLOWED or "/migrations/" in relative:
                continue
            found += [f"{relative}:{line}" for line in import_error_handlers(path)]
    assert found == []


def test_the_check_sees_a_guard(tmp_path):
    guarded = tmp_path / "guarded.py"
    guarded.write_text("try:\n    import catalog\nexcept (ImportError, ValueError):\n    pass\n")
    assert import_error_handlers(guarded) == [3]
