"""Who may call the webhooks (docs/contracts/evotor-api.md §7 "Common", §10.6).

`/user/*` carry the app's own secret from the Evotor developer portal: `Bearer <secret>`
("С помощью токена") or, when configured, `Basic base64(login:password)`. Installation and
subscription events may carry either that secret or `Bearer <the EvoSync token we issued for
that user>` (the sources disagree). Every comparison is constant-time. With no secret
configured every call is refused: an open webhook would let anyone link accounts.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from django.conf import settings


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def _credentials(request) -> tuple[str, str]:
    """(scheme in lower case, credentials); a bare value counts as a bearer token."""
    header = request.headers.get("Authorization", "").strip()
    scheme, _, rest = header.partition(" ")
    if not rest:
        return "bearer", header
    return scheme.lower(), rest.strip()


def configured() -> bool:
    return bool(settings.EVOTOR_WEBHOOK_SECRET)


def has_app_secret(request) -> bool:
    """True when the request carries the app secret (or the Basic login, if configured)."""
    secret = settings.EVOTOR_WEBHOOK_SECRET
    if not secret:
        return False
    scheme, credentials = _credentials(request)
    if scheme == "bearer":
        return _equal(credentials, secret)
    basic = getattr(settings, "EVOTOR_WEBHOOK_BASIC_AUTH", "")
    if scheme == "basic" and basic:
        try:
            decoded = base64.b64decode(credentials.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            return False
        return hmac.compare_digest(decoded, basic.encode("utf-8"))
    return False


def has_user_token(request, api_token: str) -> bool:
    """True when the request carries the EvoSync token issued to that Evotor user."""
    if not configured() or not api_token:
        return False
    scheme, credentials = _credentials(request)
    return scheme == "bearer" and _equal(credentials, api_token)


def push_signature_header() -> str:
    return settings.EVOTOR_PUSH_SIGNATURE_HEADER


def push_secret() -> str:
    """The secret of the push hook; the app secret when no separate one is configured."""
    return settings.EVOTOR_PUSH_SECRET or settings.EVOTOR_WEBHOOK_SECRET


def push_signature(body: bytes, secret: str, algorithm: str = "sha1") -> str:
    """`sha1=<hex HMAC(body, secret)>`, as Evotor's Hookshot signs a push (§7.5)."""
    digest = hmac.new(secret.encode("utf-8"), body, algorithm).hexdigest()
    return f"{algorithm}={digest}"


def push_signature_ok(body: bytes, header: str) -> bool:
    """Whether `header` is the body's HMAC with the push secret, compared in constant time.

    `sha1=` is what the draft pages show; `sha256=` is accepted too (§7.5a advises both).
    With no secret configured nothing is accepted."""
    secret = push_secret()
    algorithm, _, given = (header or "").strip().partition("=")
    if not secret or algorithm.lower() not in ("sha1", "sha256") or not given:
        return False
    expected = push_signature(body, secret, algorithm.lower())
    return _equal(f"{algorithm.lower()}={given.strip().lower()}", expected)


def has_store_user_token(request, store_evotor_id: str) -> bool:
    """True when the request carries the EvoSync token of a merchant who has that store."""
    from connections.models import EvotorConnection

    connections = EvotorConnection.objects.filter(
        user__cached_stores__evotor_id=store_evotor_id
    ).distinct()
    return any(has_user_token(request, c.api_token) for c in connections)
