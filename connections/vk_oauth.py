"""VK ID: the OAuth 2.1 authorization-code flow with PKCE behind «Подключить ВКонтакте».

docs/contracts/vk-market-api.md §13 (addendum "VK ID OAuth") and §2: the person is sent to
`{VK_ID_URL}/authorize` with `response_type=code`, the app's `client_id`, the `redirect_uri`
registered with the app, a random `state`, `code_challenge` = BASE64URL(SHA-256(code_verifier))
and `code_challenge_method=S256`, and the rights in `scope`. VK sends them back to the redirect
URI with `code`, `state` and `device_id` (or `error`). The code, the verifier and the device id
are exchanged for an access token (one hour), a refresh token and the rights granted, at
`{VK_ID_URL}/oauth2/auth` (`grant_type=authorization_code`); the same endpoint trades a refresh
token for new tokens (`grant_type=refresh_token`, with `device_id`). Whether refresh tokens
rotate is not stated, so the newest one received is always the one kept.

Errors of the token endpoint come as `{"error": "<code>", "error_description": "…"}` (RFC 6749
§5.2; the HTTP status is read but not relied on). `invalid_grant` means the code or refresh
token is dead: the person must connect again. Network trouble and 5xx are `VkIdUnavailable`.

No token, code or verifier is ever logged or put in an exception message.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone

from connections import http

VENDOR = "vk-id"
# RFC 7636 §4.1: 43–128 characters of [A-Za-z0-9-._~]; VK ID allows a-z, A-Z, 0-9, _ and -.
VERIFIER_LENGTH = 64
# VK ID's access tokens live an hour (§13 addendum); when VK does not say, assume that.
DEFAULT_LIFETIME_SECONDS = 3600
# The rights without which EvoSync cannot publish (§2): without `market` no market.* method.
REQUIRED_SCOPES = frozenset({"market", "photos"})


class VkIdError(Exception):
    """The VK ID server refused: `error` is its code (`invalid_grant`, `invalid_client`, …)."""

    def __init__(self, error: str, description: str = "", *, status: int | None = None):
        self.error = error or "unknown_error"
        self.description = description
        self.status = status
        super().__init__(
            f"VK ID refused: {self.error}" + (f" ({description})" if description else "")
        )

    @property
    def grant_dead(self) -> bool:
        """The code or refresh token can never work again: only a new consent helps."""
        return self.error in ("invalid_grant", "access_denied")


class VkIdUnavailable(VkIdError):
    """No usable answer from VK ID (network, timeout, 5xx, not JSON): trying later may help."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__("temporarily_unavailable", message, status=status)


@dataclass(frozen=True)
class VkIdTokens:
    """What the token endpoint gave: parsed at the edge, the rest of the code sees only this."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    user_id: int | None
    scopes: frozenset[str]
    device_id: str = ""

    @property
    def missing_scopes(self) -> frozenset[str]:
        return REQUIRED_SCOPES - self.scopes

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form, for keeping the tokens (encrypted) between two requests."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat(),
            "user_id": self.user_id,
            "scopes": sorted(self.scopes),
            "device_id": self.device_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VkIdTokens:
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=str(data.get("refresh_token") or ""),
            expires_at=datetime.fromisoformat(str(data["expires_at"])),
            user_id=int(data["user_id"]) if data.get("user_id") else None,
            scopes=frozenset(data.get("scopes") or ()),
            device_id=str(data.get("device_id") or ""),
        )


# --- PKCE and the authorization address -------------------------------------------------------


def new_state() -> str:
    return secrets.token_urlsafe(32)


def new_code_verifier() -> str:
    """A fresh PKCE verifier: 64 characters of a-z, A-Z, 0-9, '-' and '_'."""
    return secrets.token_urlsafe(VERIFIER_LENGTH)[:VERIFIER_LENGTH]


def code_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA-256(ASCII(code_verifier))) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_configured() -> bool:
    return bool(settings.VK_ID_CLIENT_ID)


def authorize_url(*, state: str, verifier: str, redirect_uri: str) -> str:
    """Where to send the person's browser to ask VK for access."""
    query = {
        "response_type": "code",
        "client_id": settings.VK_ID_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": code_challenge(verifier),
        "code_challenge_method": "S256",
        "scope": settings.VK_ID_SCOPE,
    }
    return f"{settings.VK_ID_URL}/authorize?{urlencode(query)}"


# --- the token endpoint ------------------------------------------------------------------------


def exchange_code(
    *, code: str, verifier: str, device_id: str, redirect_uri: str, now: datetime | None = None
) -> VkIdTokens:
    """Trades the code VK sent back for tokens (grant_type=authorization_code)."""
    tokens = _token_request(
        {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "device_id": device_id,
            "redirect_uri": redirect_uri,
        },
        now=now,
    )
    return _with_device(tokens, device_id)


def refresh(*, refresh_token: str, device_id: str, now: datetime | None = None) -> VkIdTokens:
    """New tokens for a refresh token (grant_type=refresh_token). Raises `VkIdError` with
    `grant_dead` when the refresh token was withdrawn or expired."""
    tokens = _token_request(
        {"grant_type": "refresh_token", "refresh_token": refresh_token, "device_id": device_id},
        now=now,
    )
    if not tokens.refresh_token:
        # No new refresh token in the answer: the old one stays the one to use.
        tokens = VkIdTokens(
            access_token=tokens.access_token,
            refresh_token=refresh_token,
            expires_at=tokens.expires_at,
            user_id=tokens.user_id,
            scopes=tokens.scopes,
        )
    return _with_device(tokens, device_id)


def _with_device(tokens: VkIdTokens, device_id: str) -> VkIdTokens:
    return VkIdTokens(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_at=tokens.expires_at,
        user_id=tokens.user_id,
        scopes=tokens.scopes,
        device_id=device_id,
    )


def _token_request(params: dict[str, str], *, now: datetime | None) -> VkIdTokens:
    data = {**params, "client_id": settings.VK_ID_CLIENT_ID, "state": new_state()}
    if settings.VK_ID_CLIENT_SECRET:
        data["client_secret"] = settings.VK_ID_CLIENT_SECRET
    try:
        # A code or a refresh token works once: never repeat this request blindly.
        response = http.request(
            "POST", f"{settings.VK_ID_URL}/oauth2/auth", vendor=VENDOR, idempotent=False, data=data
        )
    except http.TransientHTTPError as exc:
        raise VkIdUnavailable(str(exc), status=exc.status) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise VkIdUnavailable(
            f"VK ID answered HTTP {response.status_code} without JSON", status=response.status_code
        )
    if body.get("error"):
        raise VkIdError(
            str(body["error"]),
            str(body.get("error_description") or ""),
            status=response.status_code,
        )
    if response.status_code >= 400 or not body.get("access_token"):
        raise VkIdUnavailable(
            f"VK ID answered HTTP {response.status_code} without tokens",
            status=response.status_code,
        )
    return parse_tokens(body, now=now)


def parse_tokens(body: dict[str, Any], *, now: datetime | None = None) -> VkIdTokens:
    """The token endpoint's answer → `VkIdTokens`. `scope` is space-separated (VK ID) though
    commas are accepted too; `expires_in` is seconds from now."""
    now = now or timezone.now()
    try:
        lifetime = int(body.get("expires_in") or DEFAULT_LIFETIME_SECONDS)
    except (TypeError, ValueError):
        lifetime = DEFAULT_LIFETIME_SECONDS
    scope_text = str(body.get("scope") or "").replace(",", " ")
    try:
        user_id = int(body["user_id"]) if body.get("user_id") else None
    except (TypeError, ValueError):
        user_id = None
    return VkIdTokens(
        access_token=str(body["access_token"]),
        refresh_token=str(body.get("refresh_token") or ""),
        expires_at=now + timedelta(seconds=max(lifetime, 0)),
        user_id=user_id,
        scopes=frozenset(scope_text.split()),
    )
