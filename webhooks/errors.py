"""Error replies in Evotor's format (docs/contracts/evotor-api.md §7.6): `{"errors": [{"code": ...}]}`."""

from __future__ import annotations

from django.http import JsonResponse

# Evotor's codes and the HTTP status each one goes with.
BAD_SECRET = 1001
BAD_USER_TOKEN = 1002
WRONG_CREDENTIALS = 1006
SYNTAX = 2001
FIELD = 2002  # a field is missing or not expected: reason "missing" / "unexpected"
VALUE = 2003  # a field's value is wrong: reason "incorrect"
LINKED_ELSEWHERE = 2004
ALREADY_REGISTERED = 2005
# Not one of Evotor's codes: ours for "EvoSync cannot answer now" (the database is down).
# Evotor repeats the call until it gets 200 (docs/contracts/evotor-api.md §7.4), so nothing is lost.
UNAVAILABLE = 5003

STATUS = {
    BAD_SECRET: 401,
    BAD_USER_TOKEN: 401,
    WRONG_CREDENTIALS: 401,
    SYNTAX: 400,
    FIELD: 400,
    VALUE: 400,
    LINKED_ELSEWHERE: 409,
    ALREADY_REGISTERED: 409,
    UNAVAILABLE: 503,
}


class WebhookError(Exception):
    """An answer to Evotor other than success; `code` is one of Evotor's codes above."""

    def __init__(
        self,
        code: int,
        *,
        reason: str | None = None,
        subject: str | None = None,
        value: str | None = None,
        status: int | None = None,
    ):
        super().__init__(f"{code} {reason or ''} {subject or ''}".strip())
        self.code = code
        self.reason = reason
        self.subject = subject
        self.value = value
        self.status = status or STATUS[code]

    def body(self) -> dict:
        error: dict[str, object] = {"code": self.code}
        for name in ("reason", "subject", "value"):
            if getattr(self, name) is not None:
                error[name] = getattr(self, name)
        return {"errors": [error]}

    def response(self) -> JsonResponse:
        return JsonResponse(self.body(), status=self.status)


class WebhookNotFound(Exception):
    """Evotor names something we do not have: 404 with an empty object (§7.6)."""


def missing(subject: str) -> WebhookError:
    return WebhookError(FIELD, reason="missing", subject=subject)


def incorrect(subject: str, value=None) -> WebhookError:
    shown = None if value is None else str(value)[:100]
    return WebhookError(VALUE, reason="incorrect", subject=subject, value=shown)
