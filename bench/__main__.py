"""`python -m bench` lists the benchmarks; `python -m bench NAME [options]` runs one."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def benchmarks() -> dict[str, str]:
    """{name: first docstring line} of every module here that has a `main`."""
    found = {}
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("_"):
            continue
        source = (Path(__file__).parent / f"{info.name}.py").read_text(encoding="utf-8")
        if "\ndef main(" not in source:
            continue
        doc = source.split('"""')[1].strip().splitlines()[0] if '"""' in source else ""
        found[info.name] = doc
    return dict(sorted(found.items()))


def main(argv: list[str]) -> int:
    available = benchmarks()
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m bench NAME [options]   (python -m bench NAME --help for options)")
        print("\nbenchmarks:")
        for name, doc in available.items():
            print(f"  {name:<24} {doc}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in available:
        print(f"No benchmark named {name!r}; run `python -m bench` for the list.", file=sys.stderr)
        return 2
    module = importlib.import_module(f"bench.{name}")
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
