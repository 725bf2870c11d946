"""Typed VK API errors (docs/contracts/vk-market-api.md §1 error envelope, §6 limits, §7 error codes).

Every error carries VK's `code`, VK's own `message` (English, for logs and staff) and the
`method` that failed; `user_message` explains it to the merchant in their language. None of
them ever holds the access token: VK's messages do not contain it and we never add it.

`stops_run` tells a caller (a catalog refresh, a publishing run) whether the whole merchant's
run must stop (token, rights, Market off, captcha, limits, VK down) or only this one item failed.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

# Codes whose meaning decides what we do (docs/contracts/vk-market-api.md §7).
AUTH_FAILED = 5
TOO_MANY_REQUESTS = 6
PERMISSION_DENIED = 7
FLOOD_CONTROL = 9
INTERNAL_SERVER_ERROR = 10
EXECUTE_COMPILE_ERROR = 12
EXECUTE_RUNTIME_ERROR = 13
CAPTCHA_NEEDED = 14
ACCESS_DENIED = 15
GROUP_AUTH_FAILED = 27
RATE_LIMIT_REACHED = 29
INVALID_PARAMETER = 100
MARKET_ACCESS_DENIED = 205
MARKET_NOT_ENABLED = 1438
MARKET_DISABLED = 1525
MARKET_SERVICES_DISABLED = 1526

PERMISSION_CODES = frozenset({PERMISSION_DENIED, ACCESS_DENIED, GROUP_AUTH_FAILED, 200, 203, 205})
MARKET_OFF_CODES = frozenset({MARKET_NOT_ENABLED, MARKET_DISABLED, MARKET_SERVICES_DISABLED})


class VkApiError(Exception):
    """Base class: VK answered with an error (or did not answer usefully)."""

    stops_run = True

    def __init__(
        self,
        code: int,
        message: str = "",
        *,
        method: str | None = None,
        request_params: list[dict[str, Any]] | None = None,
    ):
        self.code = int(code)
        self.message = message
        self.method = method
        self.request_params = request_params or []
        super().__init__(f"VK error {self.code} in {method or 'request'}: {message}")

    @property
    def user_message(self) -> str:
        return _("VK refused the request (error %(code)s: %(message)s).") % {
            "code": self.code,
            "message": self.message,
        }


class VkAuthError(VkApiError):
    """Error 5 for a token that worked before: it lapsed or was withdrawn in VK; the connection
    is broken until the person connects again. (A token that never worked is explained by
    `wrong_token_message` where it is first checked.)"""

    @property
    def user_message(self) -> str:
        return _(
            "VK no longer accepts EvoSync's access: it lapsed or was withdrawn in VK's settings. "
            "Press “Connect VK” on the VK connection page to give access again."
        )


class VkTokenWithdrawnError(VkAuthError):
    """VK ID refused to refresh the token (`invalid_grant`): the consent was withdrawn in VK or
    the refresh token lapsed. Only a new consent helps."""

    @property
    def user_message(self) -> str:
        return _(
            "VK did not renew EvoSync's access: it was withdrawn in VK or unused for too long. "
            "Press “Connect VK” on the VK connection page to give access again."
        )


def wrong_token_message() -> str:
    """Error 5 for a token that never worked: most likely mistyped, or not a user token."""
    return _(
        "VK does not accept this key: it is mistyped or incomplete. Copy the whole key again, "
        "or use “Connect VK” instead of pasting a key."
    )


class VkRateLimitError(VkApiError):
    """Errors 6, 9 or 29 that persisted after the client's own backoff."""

    @property
    def user_message(self) -> str:
        if self.code == FLOOD_CONTROL:
            return _(
                "VK's flood control stopped the run: too many changes in a short time. "
                "EvoSync will try again later."
            )
        if self.code == RATE_LIMIT_REACHED:
            return _(
                "VK's daily limit for this kind of request is reached. EvoSync will try again "
                "tomorrow."
            )
        return _("VK answered “too many requests” again and again. EvoSync will try again later.")


class VkCaptchaError(VkApiError):
    """Error 14: VK wants a human to solve a captcha; stop this merchant's run."""

    def __init__(self, *args, captcha_sid: str = "", captcha_img: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.captcha_sid = captcha_sid
        self.captcha_img = captcha_img

    @property
    def user_message(self) -> str:
        return _(
            "VK asked for a captcha and stopped the run: this happens after many changes in a "
            "short time. EvoSync will try again on its next run."
        )


class VkPermissionError(VkApiError):
    """Errors 7, 15, 27, 200, 203, 205: the token may not do this (type or rights)."""

    @property
    def user_message(self) -> str:
        if self.code == GROUP_AUTH_FAILED:
            return _(
                "This is a community token, but a user token with the “market” and “photos” "
                "rights is needed."
            )
        if self.code == ACCESS_DENIED:
            return _(
                "The token lacks the rights EvoSync needs. Get a user token with the “market” "
                "and “photos” rights."
            )
        if self.code == MARKET_ACCESS_DENIED:
            return _(
                "VK does not let this user change the community's Market. The token must belong "
                "to an administrator of the community and have the “market” right."
            )
        return _(
            "VK denied access. The token must belong to an administrator of the community and "
            "have the “market” and “photos” rights."
        )


class VkMarketDisabledError(VkApiError):
    """Error 1438 (and 1525/1526): the community's Market section is off."""

    @property
    def user_message(self) -> str:
        return _(
            "The Market (“Товары”) section is turned off in the VK community. Turn it on in the "
            "community settings (Управление → Разделы → Товары)."
        )


class VkItemError(VkApiError):
    """Error 100 or a 14xx Market error: this one call (item, album, photo) was refused."""

    stops_run = False

    @property
    def user_message(self) -> str:
        return _("VK refused this item: %(message)s (error %(code)s).") % {
            "message": self.message,
            "code": self.code,
        }


class VkUnavailableError(VkApiError):
    """Error 10, HTTP 5xx, timeouts or a broken answer, after the client's retries.

    `may_have_applied` is True when a write reached VK and its answer was lost: the caller must
    check VK's state before repeating it (a repeated market.add would create a duplicate).
    """

    def __init__(self, *args, may_have_applied: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.may_have_applied = may_have_applied

    @property
    def user_message(self) -> str:
        return _("VK is not answering properly right now. EvoSync will try again later.")


class VkLimiterUnavailableError(VkUnavailableError):
    """The shared rate limiter's store (Redis) did not answer, so no request was sent: the run
    stops before its next request instead of sending without a limit (issue 13 item 18)."""

    @property
    def user_message(self) -> str:
        return _(
            "EvoSync's internal service (Redis) stopped answering, so the run stopped before its "
            "next request to VK. Nothing was sent twice; the next run carries on."
        )


class VkScriptError(VkApiError):
    """Errors 12/13 of `execute`: our generated code was refused; a bug on our side."""

    @property
    def user_message(self) -> str:
        return _("Something went wrong on our side while talking to VK; we will look into it.")


class VkUploadUrlRefused(VkItemError):
    """The photo upload server refused the URL itself (expired, or no more uploads taken):
    take a fresh one from market.getProductPhotoUploadServer and upload again."""


class VkDependencyError(VkItemError):
    """A call in an `execute` batch was skipped because a call it refers to failed."""

    def __init__(self, *, method: str | None, index: int):
        super().__init__(0, f"skipped: call #{index} it depends on failed", method=method)
        self.index = index

    @property
    def user_message(self) -> str:
        return _("VK skipped this step because an earlier step for the same item failed.")


# Pseudo code for failures that never got a VK error code (network, HTTP status, bad JSON).
NO_ANSWER = -1


def error_from_payload(payload: dict[str, Any], *, method: str | None = None) -> VkApiError:
    """The typed error for VK's `error` object (or an `execute_errors` entry)."""
    try:
        code = int(payload.get("error_code", 0))
    except (TypeError, ValueError):
        code = 0
    message = str(payload.get("error_msg") or payload.get("error_text") or "")
    method = payload.get("method") or method
    request_params = payload.get("request_params")
    if not isinstance(request_params, list):
        request_params = None
    kwargs = {"method": method, "request_params": request_params}
    if code == AUTH_FAILED:
        return VkAuthError(code, message, **kwargs)
    if code in (TOO_MANY_REQUESTS, FLOOD_CONTROL, RATE_LIMIT_REACHED):
        return VkRateLimitError(code, message, **kwargs)
    if code == CAPTCHA_NEEDED:
        return VkCaptchaError(
            code,
            message,
            captcha_sid=str(payload.get("captcha_sid") or ""),
            captcha_img=str(payload.get("captcha_img") or ""),
            **kwargs,
        )
    if code in PERMISSION_CODES:
        return VkPermissionError(code, message, **kwargs)
    if code in MARKET_OFF_CODES:
        return VkMarketDisabledError(code, message, **kwargs)
    if code == INTERNAL_SERVER_ERROR:
        return VkUnavailableError(code, message, **kwargs)
    if code in (EXECUTE_COMPILE_ERROR, EXECUTE_RUNTIME_ERROR):
        return VkScriptError(code, message, **kwargs)
    if code == INVALID_PARAMETER or 1400 <= code < 1500 or code in (1518, 1525, 1526):
        return VkItemError(code, message, **kwargs)
    if 100 < code < 200:
        # 113…129: invalid ids, hashes, photos — a per-call problem like 100.
        return VkItemError(code, message, **kwargs)
    return VkApiError(code, message, **kwargs)
