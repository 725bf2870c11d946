"""The one HTTP wrapper every vendor client goes through.

Explicit connect/read timeouts, a User-Agent, and retries with exponential backoff for
transient failures only (connection errors, timeouts, 5xx). Vendor clients turn what is left
into their own typed exceptions. Requests that are not safe to repeat (a VK write whose answer
was lost) pass `idempotent=False`, so a read timeout, or a connection dropped once the request
may have been written, is reported as "may have applied" instead of retried.

Redirects are followed here, not by requests: requests keeps custom headers (Evotor's
`X-Authorization`) on a redirect to another host and strips only `Authorization`. A redirect
within the same origin (scheme, host, port) is followed as is; one to another origin is followed
only when the caller's `follow_to(url)` allows that address, and then without any credential
header; otherwise the 3xx answer is returned to the caller, which treats it as an error.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit
from urllib.request import getproxies

import requests
import urllib3
from django.conf import settings

from evosync.logging import redact

logger = logging.getLogger(__name__)

USER_AGENT = "EvoSync/0.1 (+https://github.com/evosync)"
_local = threading.local()


class TransientHTTPError(Exception):
    """The vendor did not answer usefully after every retry (network, timeout, 5xx)."""

    def __init__(self, message: str, *, status: int | None = None, may_have_applied: bool = False):
        super().__init__(message)
        self.status = status
        # True when the request reached the vendor and its answer was lost (read timeout):
        # a write may have happened, so the caller must check before repeating it.
        self.may_have_applied = may_have_applied


def session() -> requests.Session:
    """One keep-alive session per thread (requests.Session is not thread-safe)."""
    current = getattr(_local, "session", None)
    if current is None:
        current = requests.Session()
        current.headers["User-Agent"] = USER_AGENT
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=8, max_retries=0)
        current.mount("http://", adapter)
        current.mount("https://", adapter)
        if not getproxies():
            # requests reads the environment again for every request: the proxy variables
            # (two scans of os.environ) and ~/.netrc (a few stat calls), about 0.15 ms of CPU
            # each time, at some 90 requests a second while publishing. Without a proxy
            # configured, the one setting left is the CA bundle, read once here; a ~/.netrc
            # login is never wanted on a vendor API, which carries its own credentials.
            current.trust_env = False
            current.verify = (
                os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            )
        _local.session = current
    return current


def _request_once(method: str, url: str, **kwargs) -> requests.Response:
    """`session().request(method, url, **kwargs)` (no redirect followed), without the work
    requests repeats for every request that our sessions never need.

    `Session.request` merges the session's cookies, parameters, hooks and environment into a
    new `Request` and prepares it again each time (about 0.13 ms of CPU a request, most of it
    in typing-protocol checks and cookie jars); a publish sends about 1.9 requests an item.
    Our sessions carry only their headers, so the request is prepared once here and handed to
    the adapter as `Session.send` would hand it, answers' cookies still kept in the session.
    A session that reads its environment (a proxy is configured) or holds cookies goes the
    whole way through requests.
    """
    current = session()
    if current.trust_env or len(current.cookies):
        return current.request(method, url, **kwargs)
    stream = kwargs.pop("stream", False)
    timeout = kwargs.pop("timeout", None)
    kwargs.pop("allow_redirects", None)  # redirects are followed by `_send`
    headers = requests.structures.CaseInsensitiveDict(current.headers)
    headers.update(kwargs.pop("headers", None) or {})
    prepared = requests.PreparedRequest()
    prepared.prepare(
        method=method.upper(),
        url=url,
        headers=headers,
        files=kwargs.pop("files", None) or [],
        data=kwargs.pop("data", None) or [],
        json=kwargs.pop("json", None),
        params=kwargs.pop("params", None) or {},
    )
    if kwargs:
        raise TypeError(f"unexpected arguments: {', '.join(sorted(kwargs))}")
    response = current.get_adapter(url).send(
        prepared, stream=stream, timeout=timeout, verify=current.verify, cert=current.cert
    )
    requests.cookies.extract_cookies_to_jar(current.cookies, prepared, response.raw)
    if not stream:
        response.content  # noqa: B018 - read now, as Session.send does
    return response


MAX_REDIRECTS = 5
# Headers that carry a credential and must never follow a request to another origin.
CREDENTIAL_HEADERS = frozenset(
    {"authorization", "x-authorization", "proxy-authorization", "cookie"}
)


def same_origin(first: str, second: str) -> bool:
    a, b = urlsplit(first), urlsplit(second)
    return (a.scheme.lower(), a.hostname, a.port) == (b.scheme.lower(), b.hostname, b.port)


def _send(
    method: str, url: str, *, follow_to: Callable[[str], bool] | None, **kwargs
) -> requests.Response:
    """One request, following redirects ourselves (see the module docstring)."""
    kwargs["allow_redirects"] = False
    for _hop in range(MAX_REDIRECTS + 1):
        response = _request_once(method, url, **kwargs)
        location = response.headers.get("Location") if response.is_redirect else None
        if not location:
            return response
        target = urljoin(url, location)
        if not same_origin(url, target):
            if follow_to is None or not follow_to(target):
                return response
            kwargs["headers"] = {
                name: value
                for name, value in (kwargs.get("headers") or {}).items()
                if name.lower() not in CREDENTIAL_HEADERS
            }
        response.close()
        if response.status_code == 303 or (
            response.status_code in (301, 302) and method.upper() == "POST"
        ):
            # Browsers' (and requests') behaviour: the body is not sent again.
            method = "GET"
            for body in ("data", "json", "files"):
                kwargs.pop(body, None)
        url = target
    raise requests.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")


def _never_sent(exc: requests.ConnectionError) -> bool:
    """Whether a connection error happened before any of the request could reach the vendor.

    requests wraps a failure to connect (refused, unresolvable, connect timeout, TLS handshake)
    in urllib3's MaxRetryError; a connection that breaks once the request is being written or
    its answer awaited (RemoteDisconnected, a reset: "Connection aborted.") arrives as a bare
    ProtocolError or OSError. The vendor may have carried that one out before the line went.
    A reused keep-alive connection the server had already closed looks the same: for a write
    we cannot tell, and treat it as possibly applied (the caller checks before repeating).
    """
    if isinstance(exc, requests.exceptions.SSLError | requests.exceptions.ProxyError):
        return True
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, urllib3.exceptions.MaxRetryError):
        cause = cause.reason
    return isinstance(
        cause, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError
    ) or isinstance(exc, requests.ConnectTimeout)


def backoff_delay(attempt: int) -> float:
    """Exponential backoff with full jitter: base * 2**attempt, at most 30 s."""
    return random.uniform(0, min(30.0, settings.HTTP_BACKOFF_SECONDS * (2**attempt)))


def pause(seconds: float) -> None:
    """Wait before the next attempt: every retry, back-off and rate-limit wait of the vendor
    clients comes here unless the caller passed its own `sleep`. One function, so the test
    suite swaps it for a recorder (tests/conftest.py, `retry_waits`) and its failure paths run
    without sleeping, checking instead how long the code asked to wait."""
    time.sleep(seconds)


def request(
    method: str,
    url: str,
    *,
    vendor: str,
    idempotent: bool = True,
    retries: int | None = None,
    retry_statuses: frozenset[int] = frozenset({500, 502, 503, 504}),
    sleep: Callable[[float], None] | None = None,
    follow_to: Callable[[str], bool] | None = None,
    **kwargs,
) -> requests.Response:
    """Send one request, retrying transient failures; returns any non-5xx response.

    `sleep` waits between attempts (`pause` when None). `follow_to(url)` decides whether a
    redirect to another origin may be followed (without credentials); by default it is not, and
    the 3xx answer is returned.
    """
    retries = settings.HTTP_MAX_RETRIES if retries is None else retries
    kwargs.setdefault("timeout", (settings.HTTP_CONNECT_TIMEOUT, settings.HTTP_READ_TIMEOUT))
    attempt = 0
    while True:
        try:
            response = _send(method, url, follow_to=follow_to, **kwargs)
        except requests.ConnectionError as exc:
            if _never_sent(exc):
                # Includes connect timeouts: nothing reached the vendor, always safe to repeat.
                error = TransientHTTPError(f"{vendor}: cannot connect ({type(exc).__name__})")
            else:
                error = TransientHTTPError(
                    f"{vendor}: connection lost before the answer ({type(exc).__name__})",
                    may_have_applied=True,
                )
                if not idempotent:
                    raise error from None
        except requests.Timeout:
            error = TransientHTTPError(f"{vendor}: no answer in time", may_have_applied=True)
            if not idempotent:
                raise error from None
        except requests.exceptions.ChunkedEncodingError:
            # The answer broke off half-way: the vendor has done the work.
            error = TransientHTTPError(f"{vendor}: the answer broke off", may_have_applied=True)
            if not idempotent:
                raise error from None
        else:
            if response.status_code not in retry_statuses:
                return response
            error = TransientHTTPError(
                f"{vendor}: server error HTTP {response.status_code}", status=response.status_code
            )
        if attempt >= retries:
            raise error
        delay = backoff_delay(attempt)
        logger.warning(
            "%s request failed, retrying",
            vendor,
            extra={
                "vendor": vendor,
                "error": redact(str(error)),
                "attempt": attempt + 1,
                "delay": round(delay, 2),
            },
        )
        (pause if sleep is None else sleep)(delay)
        attempt += 1
