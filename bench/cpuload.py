"""Background CPU load for benchmarks and tests: N busy-loop processes, bounded in time.

    with cpu_load(6, max_seconds=120):
        ...  # the code under test, on a host whose cores are all taken

VK's limit broke only on a busy host (issue 11): with 6 busy loops on a 2-core machine a
process that is about to send a request can lose its core for tens of milliseconds, while 2
loops leave enough idle time to hide the fault. Each loop is a separate Python process (so the
GIL of the code under test is not involved) that stops by itself after `max_seconds` even if
its parent dies, and is terminated when the `with` block ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_LOOP = (
    "import time\n"
    "deadline = time.monotonic() + {seconds}\n"
    "while time.monotonic() < deadline:\n"
    "    sum(range(1000))\n"
)


@contextmanager
def cpu_load(processes: int, *, max_seconds: float) -> Iterator[list[subprocess.Popen]]:
    """Runs `processes` busy loops for the duration of the block (at most `max_seconds`)."""
    if processes < 0:
        raise ValueError("the number of busy-loop processes cannot be negative")
    if max_seconds <= 0:
        raise ValueError("max_seconds must be positive")
    loops: list[subprocess.Popen] = []
    try:
        for _ in range(processes):
            loops.append(
                subprocess.Popen(
                    [sys.executable, "-c", _LOOP.format(seconds=float(max_seconds))],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        yield loops
    finally:
        for loop in loops:
            loop.terminate()
        for loop in loops:
            loop.wait(timeout=10)


def load_average() -> str:
    """The 1-, 5- and 15-minute load averages, as `uptime` shows them."""
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"
