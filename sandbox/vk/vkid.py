"""The VK ID emulator: consent page, token and refresh endpoints (docs/contracts/vk-market-api.md
§13 addendum, "VK ID OAuth"), served by sandbox.vk.app under /vk/id.

    GET  /id/authorize     the consent page («Разрешить» / «Отмена»), after checking the app,
                           its redirect address and the PKCE parameters
    POST /id/authorize     the person's decision → 302 to the redirect address with `code`,
                           `state`, `device_id`, `expires_in`, `type=code_v2` (or `error`)
    POST /id/oauth2/auth   grant_type=authorization_code (code + code_verifier + device_id +
                           redirect_uri) or grant_type=refresh_token (+ device_id)

What VK ID does and this mirrors: the code works once for ten minutes and only with the
verifier whose S256 challenge came with it; access tokens live an hour; the app gets only the
rights VK approved for it (`market` needs VK's approval, §2), whatever it asks for; a refresh
token is single-use here (VK does not say whether it rotates, so the client must keep the
newest). Errors of the token endpoint are `{"error", "error_description", "state"}` with HTTP
400 (401 for a wrong client), as RFC 6749 §5.2 has them; the real status codes are not
documented, which is why the client reads the body whatever the status.

The sandbox has no VK login: the consent page says who is "signed in" (the demo user unless
another sandbox user is chosen on the page, for tests of other people's communities).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

if TYPE_CHECKING:
    from sandbox.vk.app import VkSandbox

DEMO_CLIENT_ID = "51900001"
DEMO_APP_NAME = "EvoSync"
CODE_TTL = 600
ACCESS_TTL = 3600
# What VK has approved for an app by default in the sandbox: everything EvoSync asks for.
DEFAULT_APPROVED = frozenset({"vkid.personal_info", "market", "photos", "groups", "offline"})
VERIFIER_RE = re.compile(r"^[A-Za-z0-9_\-.~]{43,128}$")
RIGHT_NAMES = {
    "vkid.personal_info": "Имя и фото профиля",
    "market": "Товары сообществ",
    "photos": "Фотографии",
    "groups": "Список ваших сообществ",
    "offline": "Доступ в любое время",
    "email": "Адрес почты",
    "phone": "Номер телефона",
}


@dataclass
class App:
    client_id: str
    name: str
    # Exact redirect addresses registered with the app; empty: any loopback address (the demo
    # app, whose site runs on whatever port `make run` or a test picked).
    redirect_uris: tuple[str, ...] = ()
    secret: str = ""
    approved: frozenset[str] = DEFAULT_APPROVED

    def allows(self, redirect_uri: str) -> bool:
        if self.redirect_uris:
            return redirect_uri in self.redirect_uris
        parts = urlsplit(redirect_uri)
        return parts.scheme in ("http", "https") and parts.hostname in (
            "127.0.0.1",
            "localhost",
            "testserver",
        )


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    user_id: int
    scopes: frozenset[str]
    device_id: str
    expires: float
    used: bool = False


@dataclass
class _Refresh:
    client_id: str
    user_id: int
    scopes: frozenset[str]
    device_id: str
    used: bool = False
    access_tokens: list[str] = field(default_factory=list)


class VkIdServer:
    """VK ID's side of the sandbox; the owning VkSandbox holds the lock around every call."""

    def __init__(self, sandbox: VkSandbox):
        self.sandbox = sandbox
        self.apps: dict[str, App] = {}
        self.codes: dict[str, _Code] = {}
        self.refresh_tokens: dict[str, _Refresh] = {}
        self.requests: dict[str, int] = {"authorize": 0, "code": 0, "refresh": 0}
        self.register_app(DEMO_CLIENT_ID, DEMO_APP_NAME)

    # --- controls ----------------------------------------------------------------------------

    def register_app(
        self,
        client_id: str,
        name: str,
        *,
        redirect_uris: tuple[str, ...] | list[str] = (),
        secret: str = "",
        approved: tuple[str, ...] | list[str] | None = None,
    ) -> None:
        self.apps[str(client_id)] = App(
            client_id=str(client_id),
            name=name,
            redirect_uris=tuple(redirect_uris),
            secret=secret,
            approved=frozenset(approved) if approved is not None else DEFAULT_APPROVED,
        )

    def expire_access_tokens(self, user_id: int | None = None) -> int:
        """Every access token VK ID issued (to `user_id`, if given) lapses now; returns how many.
        Refresh tokens stay good: this is the hour passing, not a withdrawal."""
        count = 0
        for grant in self.refresh_tokens.values():
            if user_id is not None and grant.user_id != int(user_id):
                continue
            for token_text in grant.access_tokens:
                token = self.sandbox.api.tokens.get(token_text)
                if token is not None:
                    token.expires_at = time.time() - 1
                    count += 1
        return count

    def withdraw(self, user_id: int) -> None:
        """The person removes the app in VK's settings: its tokens, access and refresh, die."""
        for grant in self.refresh_tokens.values():
            if grant.user_id == int(user_id):
                grant.used = True
                for token_text in grant.access_tokens:
                    token = self.sandbox.api.tokens.get(token_text)
                    if token is not None:
                        token.revoked = True

    def issued_access_tokens(self, user_id: int | None = None) -> list[str]:
        return [
            token
            for grant in self.refresh_tokens.values()
            if user_id is None or grant.user_id == int(user_id)
            for token in grant.access_tokens
        ]

    # --- HTTP --------------------------------------------------------------------------------

    def handle(self, method: str, path: str, params: dict[str, str]) -> tuple[str, list, bytes]:
        """(status, headers, body) for a request to /id<path>."""
        if path == "/authorize":
            self.requests["authorize"] += 1
            if method == "POST":
                return self._decide(params)
            return self._consent_page(params)
        if path == "/oauth2/auth" and method == "POST":
            return self._token(params)
        return _json_answer("404 Not Found", {"error": "not_found"})

    # --- the consent page ----------------------------------------------------------------------

    def _check_authorize(self, params: dict[str, str]) -> tuple[App, str] | tuple[None, bytes]:
        app = self.apps.get(params.get("client_id", ""))
        if app is None:
            return None, _error_page("Приложение не найдено", "Неверный client_id.")
        redirect_uri = params.get("redirect_uri", "")
        if not app.allows(redirect_uri):
            return None, _error_page(
                "Адрес возврата не разрешён",
                "redirect_uri не совпадает с доверенным адресом в настройках приложения.",
            )
        return app, redirect_uri

    def _request_problem(self, params: dict[str, str]) -> tuple[str, str] | None:
        if params.get("response_type") != "code":
            return "unsupported_response_type", "response_type must be code"
        if not params.get("state"):
            return "invalid_request", "state is required"
        if not params.get("code_challenge"):
            return "invalid_request", "code_challenge is required"
        if params.get("code_challenge_method", "").lower() != "s256":
            return "invalid_request", "code_challenge_method must be s256"
        return None

    def _consent_page(self, params: dict[str, str]) -> tuple[str, list, bytes]:
        app, checked = self._check_authorize(params)
        if app is None:
            return _html_answer("400 Bad Request", checked)
        problem = self._request_problem(params)
        if problem is not None:
            return _redirect(
                checked, {"error": problem[0], "error_description": problem[1]}, params
            )
        requested = _scopes(params.get("scope", ""))
        users = self.sandbox.users
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in params.items()
            if k in _AUTHORIZE_PARAMS
        )
        options = "".join(
            f'<option value="{uid}"{" selected" if uid == self.sandbox.signed_in_user else ""}>'
            f"{html.escape(name)} (id{uid})</option>"
            for uid, name in sorted(users.items())
        )
        rights = "".join(
            f"<li>{html.escape(RIGHT_NAMES.get(name, name))}</li>"
            for name in sorted(requested | {"vkid.personal_info"})
        )
        body = _PAGE.format(
            title="Вход через VK ID",
            content=f"""
<h1>{html.escape(app.name)} запрашивает доступ к вашему аккаунту VK</h1>
<form method="post" action="authorize">
  {hidden}
  <p><label for="user_id">Вы вошли как (песочница):</label>
     <select id="user_id" name="user_id">{options}</select></p>
  <p>Приложение получит:</p>
  <ul>{rights}</ul>
  <p>
    <button type="submit" name="decision" value="allow" id="allow">Разрешить</button>
    <button type="submit" name="decision" value="deny" id="deny">Отмена</button>
  </p>
</form>""",
        )
        return _html_answer("200 OK", body.encode())

    def _decide(self, params: dict[str, str]) -> tuple[str, list, bytes]:
        app, checked = self._check_authorize(params)
        if app is None:
            return _html_answer("400 Bad Request", checked)
        problem = self._request_problem(params)
        if problem is not None:
            return _redirect(
                checked, {"error": problem[0], "error_description": problem[1]}, params
            )
        if params.get("decision") != "allow":
            return _redirect(
                checked,
                {"error": "access_denied", "error_description": "User denied access"},
                params,
            )
        try:
            user_id = int(params.get("user_id") or self.sandbox.signed_in_user)
        except ValueError:
            user_id = self.sandbox.signed_in_user
        if user_id not in self.sandbox.users:
            return _html_answer("400 Bad Request", _error_page("Нет такого пользователя", ""))
        code = secrets.token_urlsafe(24)
        device_id = secrets.token_urlsafe(16)
        granted = (_scopes(params.get("scope", "")) | {"vkid.personal_info"}) & app.approved
        self.codes[code] = _Code(
            client_id=app.client_id,
            redirect_uri=checked,
            challenge=params["code_challenge"],
            user_id=user_id,
            scopes=frozenset(granted),
            device_id=device_id,
            expires=time.time() + CODE_TTL,
        )
        return _redirect(
            checked,
            {"code": code, "expires_in": str(CODE_TTL), "device_id": device_id, "type": "code_v2"},
            params,
        )

    # --- the token endpoint ------------------------------------------------------------------------

    def _token(self, params: dict[str, str]) -> tuple[str, list, bytes]:
        state = params.get("state", "")
        grant_type = params.get("grant_type", "")
        app = self.apps.get(params.get("client_id", ""))
        if app is None or (params.get("client_secret") and params["client_secret"] != app.secret):
            return _oauth_error("invalid_client", "client authentication failed", state, 401)
        if not params.get("device_id"):
            return _oauth_error("invalid_request", "device_id is required", state)
        if grant_type == "authorization_code":
            self.requests["code"] += 1
            return self._code_grant(app, params, state)
        if grant_type == "refresh_token":
            self.requests["refresh"] += 1
            return self._refresh_grant(app, params, state)
        return _oauth_error("unsupported_grant_type", "grant_type is not supported", state)

    def _code_grant(self, app: App, params: dict[str, str], state: str):
        for name in ("code", "code_verifier", "redirect_uri"):
            if not params.get(name):
                return _oauth_error("invalid_request", f"{name} is required", state)
        verifier = params["code_verifier"]
        if not VERIFIER_RE.match(verifier):
            return _oauth_error("invalid_request", "code_verifier is malformed", state)
        grant = self.codes.get(params["code"])
        if grant is None or grant.used or grant.expires < time.time():
            return _oauth_error("invalid_grant", "code is invalid or expired", state)
        if (
            grant.client_id != app.client_id
            or grant.redirect_uri != params["redirect_uri"]
            or grant.device_id != params["device_id"]
        ):
            return _oauth_error("invalid_grant", "code was issued for another request", state)
        if _s256(verifier) != grant.challenge:
            return _oauth_error("invalid_grant", "code_verifier is invalid", state)
        grant.used = True
        refresh = _Refresh(
            client_id=app.client_id,
            user_id=grant.user_id,
            scopes=grant.scopes,
            device_id=grant.device_id,
        )
        body = self._issue(refresh, state)
        body["id_token"] = "sandbox." + secrets.token_urlsafe(24)
        return _json_answer("200 OK", body)

    def _refresh_grant(self, app: App, params: dict[str, str], state: str):
        text = params.get("refresh_token", "")
        if not text:
            return _oauth_error("invalid_request", "refresh_token is required", state)
        grant = self.refresh_tokens.get(text)
        if grant is None or grant.used:
            return _oauth_error("invalid_grant", "refresh token is invalid or expired", state)
        if grant.client_id != app.client_id or grant.device_id != params["device_id"]:
            return _oauth_error("invalid_grant", "refresh token was issued to another", state)
        asked = _scopes(params.get("scope", ""))
        if asked - grant.scopes:
            return _oauth_error("invalid_scope", "scope exceeds the granted one", state)
        grant.used = True
        successor = _Refresh(
            client_id=grant.client_id,
            user_id=grant.user_id,
            scopes=asked or grant.scopes,
            device_id=grant.device_id,
        )
        return _json_answer("200 OK", self._issue(successor, state))

    def _issue(self, refresh: _Refresh, state: str) -> dict[str, Any]:
        access = "vk2.a." + secrets.token_urlsafe(32)
        refresh_text = "vk2.r." + secrets.token_urlsafe(32)
        self.sandbox.add_token(
            access,
            user_id=refresh.user_id,
            scopes=tuple(refresh.scopes),
            expires_in=ACCESS_TTL,
        )
        refresh.access_tokens.append(access)
        self.refresh_tokens[refresh_text] = refresh
        return {
            "refresh_token": refresh_text,
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL,
            "user_id": refresh.user_id,
            "state": state,
            "scope": " ".join(sorted(refresh.scopes)),
        }


_AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
    "scope",
    "prompt",
    "lang_id",
    "scheme",
)


def _scopes(text: str) -> set[str]:
    return {part for part in text.replace(",", " ").split() if part}


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _redirect(redirect_uri: str, values: dict[str, str], params: dict[str, str]):
    values = {**values, "state": params.get("state", "")}
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(values.items())
    location = parts._replace(query=urlencode(query)).geturl()
    return "302 Found", [("Location", location), ("Content-Length", "0")], b""


def _json_answer(status: str, body: dict) -> tuple[str, list, bytes]:
    data = json.dumps(body, ensure_ascii=False).encode()
    headers = [
        ("Content-Type", "application/json; charset=utf-8"),
        ("Content-Length", str(len(data))),
        ("Cache-Control", "no-store"),
    ]
    return status, headers, data


def _oauth_error(error: str, description: str, state: str, status: int = 400):
    reason = "Unauthorized" if status == 401 else "Bad Request"
    return _json_answer(
        f"{status} {reason}", {"error": error, "error_description": description, "state": state}
    )


def _html_answer(status: str, body: bytes) -> tuple[str, list, bytes]:
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
    return status, headers, body


def _error_page(title: str, text: str) -> bytes:
    return _PAGE.format(
        title=html.escape(title), content=f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
    ).encode()


_PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<link rel="icon" href="data:,">
<title>{title} · песочница VK ID</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:480px;margin:40px auto;padding:0 16px;
color:#1b1f24}} h1{{font-size:1.3rem}} button{{font:inherit;padding:8px 16px;border-radius:8px;
border:1px solid #0077ff;margin-right:8px;cursor:pointer}} #allow{{background:#0077ff;color:#fff}}
#deny{{background:#fff;color:#0055b8}} select{{font:inherit}}
.brand{{color:#0055b8;font-weight:700}}</style></head>
<body><main><p class="brand">VK ID · песочница</p>{content}</main></body></html>"""
