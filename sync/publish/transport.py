"""How the executor's calls reach VK: packed into `execute` requests, or one call a request.

`ExecuteTransport` sends up to 25 calls as one `execute` (docs/contracts/vk-market-api.md §5): a
saveProductPhoto and the market.add/edit that uses its photo id travel in the same request,
chained by `VkRef`. `NaiveTransport` sends every call as its own API request, resolving the
references itself: the way most existing integrations work, kept for the benchmark's
comparison (bench/publish.py).

Both answer a list of `VkCallResult` and a "stop" error, never raise for one call's failure:
- an error of the whole request (token revoked, captcha, Market off, VK down) is returned as
  `stop` with every call marked `NOT_SENT` (VK refused the request before running any of it)
  or `UNKNOWN` (the answer was lost: writes may have happened);
- the naive transport stops at the first such error; the calls before it keep their results.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from connections.vk_client import VkCallResult, VkClient
from connections.vk_errors import (
    NO_ANSWER,
    VkApiError,
    VkDependencyError,
    VkItemError,
    VkUnavailableError,
)
from connections.vk_script import MAX_CALLS, VkCall, VkRef, call_dependencies, js_falsy


class NotSentError(VkApiError):
    """The call never reached VK (the request was refused as a whole): safe to send again."""

    stops_run = False

    def __init__(self, method: str | None):
        super().__init__(NO_ANSWER, "not sent", method=method)


class UnknownOutcomeError(VkApiError):
    """The request's answer was lost: VK may or may not have done this call."""

    stops_run = False

    def __init__(self, method: str | None):
        super().__init__(NO_ANSWER, "answer lost", method=method)


@dataclass
class SendResult:
    results: list[VkCallResult]
    stop: VkApiError | None = None


def request_interval() -> float:
    """Seconds between two API requests of one token, as the shared limiter spaces them."""
    rps = float(settings.VK_REQUESTS_PER_SECOND)
    margin = float(settings.VK_RATE_LIMIT_MARGIN)
    return (1.0 / rps) * (1.0 + margin)


def _blanket(calls: list[VkCall], exc: VkApiError) -> list[VkCallResult]:
    """Every call's result after a failure of the whole request."""
    lost = isinstance(exc, VkUnavailableError) and exc.may_have_applied
    error_class = UnknownOutcomeError if lost else NotSentError
    return [VkCallResult(call, error=error_class(call.method)) for call in calls]


class ExecuteTransport:
    """Up to 25 calls per request, through `execute`."""

    max_calls = MAX_CALLS

    def __init__(self, client: VkClient):
        self.client = client

    def send(self, calls: list[VkCall]) -> SendResult:
        try:
            results = self.client.execute(calls)
        except VkApiError as exc:
            return SendResult(_blanket(calls, exc), stop=exc)
        return SendResult(results)


def _resolve(value, results: list[VkCallResult]):
    if isinstance(value, VkRef):
        resolved = results[value.index].value
        if value.field:
            for segment in value.field.split("."):
                resolved = resolved[int(segment)] if segment.isdigit() else resolved[segment]
        return resolved
    if isinstance(value, list | tuple):
        return [_resolve(v, results) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, results) for k, v in value.items()}
    return value


class NaiveTransport:
    """One API request per call (no `execute`): for comparison only."""

    max_calls = MAX_CALLS

    def __init__(self, client: VkClient):
        self.client = client

    def send(self, calls: list[VkCall]) -> SendResult:
        results: list[VkCallResult] = []
        for index, call in enumerate(calls):
            failed = [
                dep
                for dep in call_dependencies(call)
                if not results[dep].ok or js_falsy(results[dep].value)
            ]
            if failed:
                error = VkDependencyError(method=call.method, index=failed[0])
                results.append(VkCallResult(call, error=error))
                continue
            params = {k: _resolve(v, results) for k, v in call.params.items()}
            try:
                value = self.client.call(call.method, **params)
            except VkItemError as exc:
                results.append(VkCallResult(call, error=exc))
            except VkApiError as exc:
                rest = calls[index:]
                results.extend(_blanket(rest, exc))
                return SendResult(results, stop=exc)
            else:
                results.append(VkCallResult(call, value=value))
        return SendResult(results)
