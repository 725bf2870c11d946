"""Network failures injected at the process boundary, deterministically.

`LostAnswers` lets chosen requests reach the sandbox, which carries them out and answers; the
answer is then dropped on its way back into this process and the client gets the
`requests.ReadTimeout` a real lost answer gives it (or, with `how="disconnect"`, the
`ConnectionError` of a connection the far end closed: "Connection aborted.",
RemoteDisconnected). Holding the sandbox's answer back (its `slow`
control) raced the client's read timeout against a sleep and failed under load; here nothing
depends on the clock, so a test that passes once passes every time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.client import RemoteDisconnected
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ProtocolError

HOW = ("timeout", "disconnect", "truncated")


@dataclass
class _Rule:
    path: str
    remaining: int | None
    how: str = "timeout"


class LostAnswers:
    """Which answers to drop: `drop("/method/execute", count=1)`; `dropped` lists the paths."""

    def __init__(self):
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self.dropped: list[str] = []

    def drop(self, path: str, *, count: int | None = None, how: str = "timeout") -> None:
        """Drop the answers of the next `count` requests (every one while None) whose URL path
        ends with `path`; `how` the client learns it: "timeout" (ReadTimeout), "disconnect"
        (the connection closed under it) or "truncated" (the body broke off half-way)."""
        if how not in HOW:
            raise ValueError(f"how must be one of {HOW}")
        with self._lock:
            self._rules.append(_Rule(path, count, how))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def _take(self, url: str) -> str | None:
        """How to drop this answer, or None to deliver it."""
        path = urlsplit(url).path
        with self._lock:
            for rule in self._rules:
                if path.endswith(rule.path):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining <= 0:
                            self._rules.remove(rule)
                    self.dropped.append(path)
                    return rule.how
        return None

    def wrap(self, send):
        """`requests.adapters.HTTPAdapter.send`, dropping the chosen answers."""

        def send_and_maybe_drop(adapter, request, *args, **kwargs):
            response = send(adapter, request, *args, **kwargs)
            # The sandbox answered, so it has done the work; the status line has arrived.
            how = self._take(request.url)
            if how is None:
                return response
            response.close()  # the connection goes too, as it would after a lost answer
            if how == "disconnect":
                # What requests' adapter raises when the server closes the connection before
                # its status line reaches us.
                raise requests.ConnectionError(
                    ProtocolError(
                        "Connection aborted.",
                        RemoteDisconnected("Remote end closed connection without response"),
                    ),
                    request=request,
                )
            if how == "truncated":
                raise requests.exceptions.ChunkedEncodingError(
                    ProtocolError("Response ended prematurely"), request=request
                )
            raise requests.ReadTimeout(
                f"Read timed out (answer to {urlsplit(request.url).path} dropped by the test)",
                request=request,
            )

        return send_and_maybe_drop
