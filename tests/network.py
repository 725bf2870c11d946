"""Network failures injected at the process boundary, deterministically.

`LostAnswers` lets chosen requests reach the sandbox, which carries them out and answers; the
answer is then dropped on its way back into this process and the client gets the
`requests.ReadTimeout` a real lost answer gives it. Holding the sandbox's answer back (its `slow`
control) raced the client's read timeout against a sleep and failed under load; here nothing
depends on the clock, so a test that passes once passes every time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests


@dataclass
class _Rule:
    path: str
    remaining: int | None


class LostAnswers:
    """Which answers to drop: `drop("/method/execute", count=1)`; `dropped` lists the paths."""

    def __init__(self):
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self.dropped: list[str] = []

    def drop(self, path: str, *, count: int | None = None) -> None:
        """Drop the answers of the next `count` requests (every one while None) whose URL path
        ends with `path`."""
        with self._lock:
            self._rules.append(_Rule(path, count))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def _take(self, url: str) -> bool:
        path = urlsplit(url).path
        with self._lock:
            for rule in self._rules:
                if path.endswith(rule.path):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining <= 0:
                            self._rules.remove(rule)
                    self.dropped.append(path)
                    return True
        return False

    def wrap(self, send):
        """`requests.adapters.HTTPAdapter.send`, dropping the chosen answers."""

        def send_and_maybe_drop(adapter, request, *args, **kwargs):
            response = send(adapter, request, *args, **kwargs)
            # The sandbox answered, so it has done the work; the status line has arrived.
            if not self._take(request.url):
                return response
            response.close()  # the connection goes too, as it would after a lost answer
            raise requests.ReadTimeout(
                f"Read timed out (answer to {urlsplit(request.url).path} dropped by the test)",
                request=request,
            )

        return send_and_maybe_drop
