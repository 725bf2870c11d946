"""The endpoints Evotor calls (docs/contracts/evotor-api.md §7), and their documentation.

JSON in, JSON out, no session: CSRF protection does not apply (Evotor cannot hold a CSRF
token); the app secret in `Authorization` is the protection instead (see webhooks.auth).
Request bodies are logged with passwords and tokens masked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from accounts.backends import client_ip
from connections.evotor_selectors import evotor_connection_by_evotor_user_id
from webhooks import auth, changes, payloads, services
from webhooks.errors import (
    BAD_SECRET,
    BAD_USER_TOKEN,
    SYNTAX,
    UNAVAILABLE,
    WebhookError,
    WebhookNotFound,
    missing,
)
from webhooks.openapi import operations, spec

logger = logging.getLogger(__name__)

# A key containing any of these (any case: "token", "cloudToken", "api_token", "Password") is
# logged as "***".
_SECRET_KEY_PARTS = ("password", "token", "secret", "authorization")


def _is_secret_key(key) -> bool:
    lowered = str(key).lower()
    return any(part in lowered for part in _SECRET_KEY_PARTS)


def _masked(value, depth: int = 0):
    if depth > 5:
        return "…"
    if isinstance(value, dict):
        return {
            str(k)[:64]: "***" if _is_secret_key(k) else _masked(v, depth + 1)
            for k, v in list(value.items())[:50]
        }
    if isinstance(value, list):
        return [_masked(v, depth + 1) for v in value[:20]]
    if isinstance(value, str):
        return value[:200]
    return value


def _log_call(endpoint: str, data: dict | None, status: int) -> None:
    body = json.dumps(_masked(data), ensure_ascii=True)[:2000] if data is not None else None
    logger.info(
        "Evotor webhook %s answered %s",
        endpoint,
        status,
        extra={"endpoint": endpoint, "status": status, "body": body},
    )


def _read_body(request) -> dict:
    try:
        raw = request.body
    except RequestDataTooBig:
        raise WebhookError(SYNTAX, reason="too large") from None
    return payloads.load_json_object(raw)


# Refused secrets per client address and minute before the address gets 429 without a check:
# Evotor always sends the right one, so only a guesser (or a misconfiguration) gets there.
AUTH_FAILURES_PER_MINUTE = 10


def _auth_failures_key(request) -> str:
    return f"webhooks:401:{client_ip(request) or 'unknown'}"


def _too_many_auth_failures(request) -> bool:
    try:
        return (cache.get(_auth_failures_key(request)) or 0) >= AUTH_FAILURES_PER_MINUTE
    except Exception:  # a cache outage must not close the webhooks
        logger.warning("webhook throttle unavailable", exc_info=True)
        return False


def _count_auth_failure(request) -> None:
    key = _auth_failures_key(request)
    try:
        cache.add(key, 0, timeout=60)
        cache.incr(key)
    except Exception:
        logger.warning("webhook throttle unavailable", exc_info=True)


def _method_not_allowed() -> JsonResponse:
    response = WebhookError(SYNTAX, reason="unexpected", subject="method", status=405).response()
    response["Allow"] = "POST"
    return response


def _webhook(endpoint: str, handle: Callable[[dict], JsonResponse], *, event: bool = False):
    """A POST-only JSON endpoint: authorize, parse, handle, answer in Evotor's format."""

    @csrf_exempt
    @never_cache
    def view(request):
        if request.method != "POST":
            return _method_not_allowed()
        data = None
        if _too_many_auth_failures(request):
            response = WebhookError(BAD_SECRET, reason="too many attempts", status=429).response()
            response["Retry-After"] = "60"
            _log_call(endpoint, None, 429)
            return response
        try:
            authorized = auth.has_app_secret(request)
            if not authorized and not event:
                raise WebhookError(BAD_SECRET, reason="unauthorized")
            data = _read_body(request)
            if not authorized and not _event_user_token_ok(request, data):
                raise WebhookError(BAD_SECRET, reason="unauthorized")
            response = handle(data)
        except WebhookError as error:
            response = error.response()
        except WebhookNotFound:
            response = JsonResponse({}, status=404)
        except DatabaseError:
            # Evotor reads JSON: Django's HTML 500 page would be noise to it (issue 13 item 12).
            logger.exception("Evotor webhook %s: the database did not answer", endpoint)
            response = WebhookError(UNAVAILABLE, reason="unavailable", status=503).response()
            response["Retry-After"] = "60"
        if response.status_code == 401:
            _count_auth_failure(request)
        _log_call(endpoint, data if response.status_code != 401 else None, response.status_code)
        return response

    view.__name__ = endpoint.replace("/", "_")
    return view


def _event_user_token_ok(request, data: dict) -> bool:
    """Events may carry the EvoSync token of the user they are about (§10.6)."""
    payload = data.get("data") if isinstance(data.get("data"), dict) else data
    user_id = payload.get("userId") or payload.get("userUuid") or data.get("userId")
    if not isinstance(user_id, str) or not payloads.USER_ID_RE.match(user_id):
        return False
    connection = evotor_connection_by_evotor_user_id(evotor_user_id=user_id)
    return connection is not None and auth.has_user_token(request, connection.api_token)


def _user_create(data: dict) -> JsonResponse:
    connection = services.evotor_user_create(payload=payloads.parse_user_create(data))
    return JsonResponse({"userId": connection.evotor_user_id, "token": connection.api_token})


def _user_verify(data: dict) -> JsonResponse:
    connection = services.evotor_user_verify(payload=payloads.parse_user_verify(data))
    return JsonResponse(
        {"userId": connection.evotor_user_id, "hasBilling": False, "token": connection.api_token}
    )


def _user_token(data: dict) -> JsonResponse:
    services.evotor_user_token(payload=payloads.parse_user_token(data))
    return JsonResponse({})


def _installation_event(data: dict) -> JsonResponse:
    services.evotor_installation_event_apply(event=payloads.parse_installation_event(data))
    return JsonResponse({})


def _subscription_event(data: dict) -> JsonResponse:
    services.evotor_subscription_event_record(event=payloads.parse_subscription_event(data))
    return JsonResponse({})


user_create = _webhook("user/create", _user_create)
user_verify = _webhook("user/verify", _user_verify)
user_token = _webhook("user/token", _user_token)
installation_event = _webhook("installation/event", _installation_event, event=True)
subscription_event = _webhook("subscription/event", _subscription_event, event=True)


def _guarded(endpoint: str, handle: Callable):
    """A POST-only endpoint whose handler checks its own credentials (a signature, a user
    token) from the raw request: throttled, answered and logged like the others."""

    @csrf_exempt
    @never_cache
    def view(request, **kwargs):
        if request.method != "POST":
            return _method_not_allowed()
        if _too_many_auth_failures(request):
            response = WebhookError(BAD_SECRET, reason="too many attempts", status=429).response()
            response["Retry-After"] = "60"
            _log_call(endpoint, None, 429)
            return response
        try:
            response = handle(request, **kwargs)
        except WebhookError as error:
            response = error.response()
        except WebhookNotFound:
            response = JsonResponse({}, status=404)
        except DatabaseError:
            logger.exception("Evotor webhook %s: the database did not answer", endpoint)
            response = WebhookError(UNAVAILABLE, reason="unavailable", status=503).response()
            response["Retry-After"] = "60"
        if response.status_code == 401:
            _count_auth_failure(request)
        _log_call(endpoint, None, response.status_code)
        return response

    view.__name__ = endpoint.replace("/", "_")
    return view


def _raw_body(request) -> bytes:
    try:
        return request.body
    except RequestDataTooBig:
        raise WebhookError(SYNTAX, reason="too large") from None


def _evotor_push(request) -> JsonResponse:
    """A change event Evotor pushes (docs/contracts/evotor-api.md §7.5): signature first, then the envelope.
    Recorded and answered at once; a task applies it (Evotor waits 15 s at most)."""
    if not changes.intake_enabled("push"):
        raise WebhookNotFound("push intake is off")
    header = auth.push_signature_header()
    raw = _raw_body(request)
    if not auth.push_signature_ok(raw, request.headers.get(header, "")):
        subject = header if request.headers.get(header) else None
        raise WebhookError(BAD_SECRET, reason="bad signature", subject=subject)
    delivery_id = (request.headers.get("X-Evotor-Delivery") or "").strip()
    if not delivery_id:
        raise missing("X-Evotor-Delivery")
    if len(delivery_id) > 64:
        raise WebhookError(SYNTAX, reason="incorrect", subject="X-Evotor-Delivery")
    event = payloads.parse_change_event(payloads.load_json_object(raw))
    changes.evotor_change_record(source="push", event=event, delivery_id=delivery_id)
    return JsonResponse({})


def _legacy_products(request, store_id: str) -> JsonResponse:
    """Legacy v1 notification of products created on a terminal (§7.5 item 1, §7.5a),
    authorised with the EvoSync token of a merchant who has that store."""
    if not changes.intake_enabled("push"):
        raise WebhookNotFound("push intake is off")
    if not auth.has_store_user_token(request, store_id):
        raise WebhookError(BAD_USER_TOKEN, reason="unauthorized")
    for event in payloads.parse_legacy_products(_raw_body(request), store_id=store_id):
        changes.evotor_change_record(source="legacy", event=event)
    return JsonResponse({})


evotor_push = _guarded("evotor/events", _evotor_push)
legacy_products = _guarded("inventories/products", _legacy_products)


@require_GET
def openapi_json(request):
    """The OpenAPI 3.1 description of the JSON endpoints."""
    return JsonResponse(spec(), json_dumps_params={"ensure_ascii": False, "indent": 2})


@require_GET
def docs(request):
    """A self-hosted page listing the operations of the spec (no CDN, no JavaScript)."""
    return render(request, "webhooks/docs.html", {"spec": spec(), "operations": operations()})
