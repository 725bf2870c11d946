"""The merchant's VK connection: connect, check, refresh, disconnect, and its state.

A connection is a user access token with the `market` and `photos` rights plus the id of the
community whose Market EvoSync fills (docs/contracts/vk-market-api.md §2). The token comes from
VK ID's one-click connect (with a refresh token; connections/vk_oauth.py, connections/vk_connect.py)
or is pasted by hand. Every way in checks the connection before calling it working. Tokens are
encrypted at rest by the model fields and never logged.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from connections import vk_errors, vk_oauth
from connections.models import ConnectionState, VkConnection, VkTokenKind
from connections.signals import (
    REASON_ACCESS,
    REASON_MARKET_OFF,
    REASON_TOKEN,
    VENDOR_VK,
    connection_broken,
    connection_restored,
)
from connections.vk_client import VkCall, VkClient
from connections.vk_oauth import VkIdTokens

logger = logging.getLogger(__name__)

_VK_HOSTS = {"vk.com", "vk.ru", "m.vk.com", "m.vk.ru", "new.vk.com", "www.vk.com", "www.vk.ru"}
_NUMERIC_RE = re.compile(r"^-?(\d{1,15})$")
_PREFIXED_RE = re.compile(r"^(?:club|public|event)(\d{1,15})$", re.IGNORECASE)
_MARKET_RE = re.compile(r"^market-?(\d{1,15})$", re.IGNORECASE)
_SCREEN_NAME_RE = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9_.]{2,64}$")
_TOKEN_RE = re.compile(r"^[\x21-\x7e]{8,512}$")


class CommunityIdError(ValueError):
    """The text is not a community id or address; the message is for the merchant."""


class ScreenNameGiven(CommunityIdError):
    """An address with a short name (vk.com/myshop): VK must tell us its number."""

    def __init__(self, screen_name: str):
        super().__init__(
            _("“%(name)s” is a short name, not a number; EvoSync asks VK for its number.")
            % {"name": screen_name}
        )
        self.screen_name = screen_name


def parse_community_id(text: str) -> int:
    """The community number from what a merchant pastes: `123`, `-123`, `club123`,
    `public123`, `https://vk.com/club123`, `vk.com/public123`, a Market link
    (`https://vk.com/market-123?w=…`).

    Raises `ScreenNameGiven` for an address with a short name (`vk.com/myshop`) and
    `CommunityIdError` for anything else.
    """
    value = (text or "").strip()
    if not value:
        raise CommunityIdError(_("Enter the community's number or its address in VK."))
    if "/" in value or value.lower().startswith(("vk.com", "vk.ru", "m.vk.")):
        value = _path_of_vk_address(value)
    number = _NUMERIC_RE.match(value) or _PREFIXED_RE.match(value) or _MARKET_RE.match(value)
    if number:
        group_id = int(number.group(1))
        if group_id == 0:
            raise CommunityIdError(_("A community number is never 0."))
        return group_id
    if value.lstrip("-").isdigit():
        raise CommunityIdError(_("This number is too long for a VK community."))
    if value.lower().startswith("id") and value[2:].isdigit():
        raise CommunityIdError(
            _("This is the address of a person's page; EvoSync needs the community's.")
        )
    if _SCREEN_NAME_RE.match(value):
        raise ScreenNameGiven(value)
    raise CommunityIdError(
        _(
            "This does not look like a community number or address, e.g. 123456 or vk.com/club123456."
        )
    )


def _path_of_vk_address(value: str) -> str:
    if "://" not in value:
        value = "https://" + value.lstrip("/")
    parts = urlsplit(value)
    if (parts.hostname or "").lower() not in _VK_HOSTS:
        raise CommunityIdError(_("This is not a VK address: it should start with vk.com/."))
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        raise CommunityIdError(_("The address has no community in it, e.g. vk.com/club123456."))
    return segments[0]


def clean_access_token(text: str) -> str:
    """The token itself from what a merchant pastes: the token, or the whole address VK's
    authorization page redirected to (`…#access_token=…&expires_in=…`)."""
    value = (text or "").strip()
    if "access_token=" in value:
        fragment = value.split("#", 1)[1] if "#" in value else urlsplit(value).query
        value = (parse_qs(fragment).get("access_token") or [""])[0].strip()
    if not _TOKEN_RE.match(value):
        raise ValueError(
            _(
                "This does not look like a VK access token: paste the token itself (a long "
                "string without spaces) or the whole address VK showed after you allowed access."
            )
        )
    return value


def vk_community_resolve(*, access_token: str, screen_name: str) -> int:
    """The number of a community known by its short name (utils.resolveScreenName).

    Raises `CommunityIdError` when VK knows no community by that name, and the typed VK
    error when VK refuses the request.
    """
    answer = VkClient(access_token).call("utils.resolveScreenName", screen_name=screen_name)
    if not isinstance(answer, dict) or answer.get("type") not in ("group", "page", "event"):
        raise CommunityIdError(
            _("VK knows no community at vk.com/%(name)s. Check the address.")
            % {"name": screen_name}
        )
    return int(answer["object_id"])


def vk_connection_get(*, user) -> VkConnection | None:
    return VkConnection.objects.filter(user=user).first()


@transaction.atomic
def vk_connection_save(
    *,
    user,
    group_id: int,
    access_token: str | None = None,
    tokens: VkIdTokens | None = None,
    group_name: str = "",
) -> VkConnection:
    """Saves the token (None keeps the saved one) and the community of the user's connection.

    `tokens` are VK ID's (one-click connect): the access token with its refresh token, expiry
    and device id. A pasted `access_token` forgets those. A new token or community starts
    unchecked: the state goes back to "working" with no last check (shown as "not checked
    yet"), the last error is cleared, and a new community forgets the old one's name and
    cached catalog. Callers that checked the connection first record that with
    `vk_connection_mark_ok`.
    """
    connection, _created = VkConnection.objects.select_for_update().get_or_create(user=user)
    if tokens is not None:
        access_token = tokens.access_token
    token_changed = bool(access_token) and access_token != connection.access_token
    group_changed = connection.group_id != group_id
    if not access_token and not connection.access_token:
        raise ValueError("A first save needs a token.")
    was_broken = connection.state == ConnectionState.BROKEN
    if tokens is not None:
        connection.refresh_token = tokens.refresh_token
        connection.token_expires_at = tokens.expires_at
        connection.device_id = tokens.device_id
        connection.vk_user_id = tokens.user_id
        connection.token_kind = VkTokenKind.VK_ID
    elif token_changed:
        connection.refresh_token = ""
        connection.token_expires_at = None
        connection.device_id = ""
        connection.vk_user_id = None
        connection.token_kind = VkTokenKind.PASTED
    if token_changed:
        connection.access_token = access_token
        connection.token_verified_at = None
    if group_changed:
        if connection.group_id:
            # The cached catalog is the old community's (vk_catalog's receiver forgets it).
            _announce_restored(user, disconnected=True)
        connection.group_id = group_id
        connection.group_name = ""
    if group_name:
        connection.group_name = group_name
    if token_changed or group_changed:
        if connection.state != ConnectionState.DISABLED:
            connection.state = ConnectionState.OK
        connection.last_error = ""
        connection.last_checked_at = None
    connection.save()
    if was_broken and connection.state == ConnectionState.OK:
        _announce_restored(user)
    logger.info(
        "VK connection saved",
        extra={
            "user_id": user.pk,
            "group_id": group_id,
            "token_changed": token_changed,
            "token_kind": connection.token_kind,
        },
    )
    return connection


@dataclass(frozen=True)
class VkTestResult:
    """The outcome of checking a connection. `reason` (a `connections.signals.REASON_*`) is set
    when the merchant must fix something; None with `ok` False means VK was only busy or down.
    `recorded` tells that the connection's state now shows the message (so a page shows it
    there, once, and not again as a separate message)."""

    ok: bool
    message: str
    group_name: str = ""
    reason: str | None = None
    recorded: bool = False

    @property
    def transient(self) -> bool:
        return not self.ok and self.reason is None


def vk_check(client: VkClient, *, group_id: int, worked_before: bool) -> VkTestResult:
    """Checks, in one `execute`, that the token works, the community exists, its Market is on
    and the token may publish there (a user token of an administrator with the `market` right;
    docs/contracts/vk-market-api.md §2, §7). Writes nothing.

    `worked_before` picks the words for a refused token: withdrawn (it worked) or mistyped (it
    never did).
    """
    try:
        group_result, upload_result = client.execute(
            [
                VkCall("groups.getById", {"group_id": group_id, "fields": "market"}),
                VkCall("market.getProductPhotoUploadServer", {"group_id": group_id}),
            ]
        )
    except vk_errors.VkAuthError as exc:
        withdrawn = worked_before or isinstance(exc, vk_errors.VkTokenWithdrawnError)
        message = exc.user_message if withdrawn else vk_errors.wrong_token_message()
        return VkTestResult(False, message, reason=REASON_TOKEN)
    except vk_errors.VkPermissionError as exc:
        # A community token fails the whole execute with 27 on the user-only market call.
        return VkTestResult(False, exc.user_message, reason=REASON_ACCESS)
    except vk_errors.VkApiError as exc:
        return VkTestResult(False, exc.user_message)

    if not group_result.ok:
        message = _("VK has no community number %(id)s. Check the number or the address.") % {
            "id": group_id
        }
        return VkTestResult(False, message, reason=REASON_ACCESS)
    value = group_result.value
    # 5.199 answers {"groups": [...], "profiles": [...]}; older versions a bare list.
    groups = value.get("groups") if isinstance(value, dict) else value
    group = groups[0] if isinstance(groups, list) and groups and isinstance(groups[0], dict) else {}
    name = str(group.get("name") or "")
    market = group.get("market") if isinstance(group.get("market"), dict) else {}
    if not upload_result.ok:
        error = upload_result.error
        if isinstance(error, vk_errors.VkPermissionError | vk_errors.VkMarketDisabledError):
            message = error.user_message
        elif isinstance(error, vk_errors.VkAuthError):
            message = error.user_message if worked_before else vk_errors.wrong_token_message()
        else:
            message = _("VK refused the check: %(message)s") % {"message": error.user_message}
        return VkTestResult(False, message, name, reason=broken_reason(error))
    if market.get("enabled") == 0:
        message = vk_errors.VkMarketDisabledError(1438).user_message
        return VkTestResult(False, message, name, reason=REASON_MARKET_OFF)
    return VkTestResult(
        True,
        _(
            "Everything works: community “%(name)s”, its Market is on, and EvoSync may publish "
            "items there."
        )
        % {"name": name or group_id},
        name,
    )


def vk_connection_test(*, user) -> VkTestResult:
    """Checks the saved connection (`vk_check`) and records the outcome: working, or broken
    with the reason. Temporary VK trouble (limits, captcha, VK down) leaves the state alone.
    """
    connection = vk_connection_get(user=user)
    if connection is None or not connection.access_token or not connection.group_id:
        return VkTestResult(False, _("Connect VK and choose a community first."))
    result = vk_check(
        vk_client_for(connection),
        group_id=int(connection.group_id),
        worked_before=connection.token_verified_at is not None,
    )
    return vk_connection_record_check(connection, result)


def vk_connection_record_check(connection: VkConnection, result: VkTestResult) -> VkTestResult:
    """Records a check's outcome on the connection: working (with the community name), broken
    with the reason, or untouched when VK was only busy. Returns the result marked `recorded`
    when the connection now shows it."""
    connection.refresh_from_db()
    if result.group_name and result.group_name != connection.group_name:
        VkConnection.objects.filter(pk=connection.pk).update(group_name=result.group_name)
        connection.group_name = result.group_name
    if result.ok:
        vk_connection_mark_ok(connection, announce=True)
        return replace(result, recorded=True)
    if result.reason is not None:
        vk_connection_mark_broken(connection, result.message, reason=result.reason)
        return replace(result, recorded=True)
    return result


def vk_connection_connect_pasted(
    *, user, group_id: int, access_token: str | None = None
) -> VkTestResult:
    """The "advanced" way: a pasted token (None keeps the saved one) and a community, checked
    before anything is saved.

    A refusal the merchant must fix (wrong or community token, not an administrator, Market
    off, no such community) saves nothing and says why. When VK is only busy, the token and
    community are saved unchecked ("not checked yet") and the message says so. Otherwise the
    connection is saved and recorded as working.
    """
    connection = vk_connection_get(user=user)
    if access_token:
        client = VkClient(access_token)
        worked_before = False
    elif connection is not None and connection.access_token:
        client = vk_client_for(connection)
        worked_before = connection.token_verified_at is not None
    else:
        raise ValueError("A first save needs a token.")
    result = vk_check(client, group_id=group_id, worked_before=worked_before)
    if result.reason is not None:
        return result
    saved = vk_connection_save(
        user=user, group_id=group_id, access_token=access_token, group_name=result.group_name
    )
    if result.transient:
        return VkTestResult(
            False,
            _(
                "Saved, but not checked yet: %(reason)s Press “Check the connection” in a "
                "few minutes."
            )
            % {"reason": result.message},
        )
    return vk_connection_record_check(saved, result)


# --- VK ID tokens: refresh before expiry and on VK's "expired" answer -------------------------

# A VK ID token is renewed this long before VK says it lapses, so a long run does not start
# with a token that dies halfway.
REFRESH_MARGIN = timedelta(minutes=5)


def vk_client_for(connection: VkConnection) -> VkClient:
    """A client for the connection's token (the caller checks `connection.is_usable`).

    For a VK ID connection the token is renewed first when it lapses within REFRESH_MARGIN,
    and the client renews it once more if VK still answers error 5 (then repeats the call).
    """
    if connection.token_kind != VkTokenKind.VK_ID or not connection.refresh_token:
        return VkClient(connection.access_token)
    if connection.token_expires_at and connection.token_expires_at <= timezone.now() + (
        REFRESH_MARGIN
    ):
        # A failure is recorded by vk_connection_refresh; the first call then says what it was.
        with contextlib.suppress(vk_errors.VkApiError):
            vk_connection_refresh(connection)

    def on_auth_error() -> str:
        return vk_connection_refresh(connection, refused_token=connection.access_token)

    return VkClient(connection.access_token, on_auth_error=on_auth_error)


def vk_connection_refresh(connection: VkConnection, *, refused_token: str | None = None) -> str:
    """Trades the connection's refresh token for new tokens at VK ID and stores them
    (encrypted); returns the new access token and updates `connection` in place.

    `refused_token` is the token VK just refused: when another worker already replaced it, the
    replacement is used instead of refreshing twice (VK ID may accept a refresh token once).
    A withdrawn grant marks the connection broken and raises `VkTokenWithdrawnError`; VK ID
    being unreachable raises `VkUnavailableError` and leaves the connection alone.
    """
    # The row lock makes concurrent refreshes of one connection queue up, so the second one
    # sees the first one's tokens instead of spending the (possibly single-use) refresh token
    # again. It is held across VK ID's answer on purpose: a refresh takes one short request.
    with transaction.atomic():
        current = VkConnection.objects.select_for_update().get(pk=connection.pk)
        if refused_token is not None and current.access_token != refused_token:
            _copy_tokens(current, connection)
            return current.access_token
        if (
            refused_token is None
            and current.token_expires_at
            and current.token_expires_at > timezone.now() + REFRESH_MARGIN
        ):
            # Renewed by another worker while this one waited for the lock.
            _copy_tokens(current, connection)
            return current.access_token
        if not current.refresh_token:
            raise vk_errors.VkTokenWithdrawnError(vk_errors.AUTH_FAILED, "no refresh token")
        try:
            tokens = vk_oauth.refresh(
                refresh_token=current.refresh_token, device_id=current.device_id
            )
        except vk_oauth.VkIdUnavailable as exc:
            logger.warning("VK ID unavailable for a refresh", extra={"user_id": current.user_id})
            raise vk_errors.VkUnavailableError(vk_errors.NO_ANSWER, exc.error) from None
        except vk_oauth.VkIdError as exc:
            withdrawn = vk_errors.VkTokenWithdrawnError(vk_errors.AUTH_FAILED, exc.error)
            failure = exc
        else:
            failure = None
            current.access_token = tokens.access_token
            current.refresh_token = tokens.refresh_token
            current.token_expires_at = tokens.expires_at
            current.save(update_fields=["access_token", "refresh_token", "token_expires_at"])
            _copy_tokens(current, connection)
    if failure is not None:
        logger.warning(
            "VK ID refused to refresh a token",
            extra={"user_id": connection.user_id, "error": failure.error},
        )
        vk_connection_mark_broken(connection, withdrawn.user_message, reason=REASON_TOKEN)
        raise withdrawn
    logger.info("VK token refreshed", extra={"user_id": connection.user_id})
    return connection.access_token


def _copy_tokens(source: VkConnection, target: VkConnection) -> None:
    target.access_token = source.access_token
    target.refresh_token = source.refresh_token
    target.token_expires_at = source.token_expires_at


@transaction.atomic
def vk_connection_disconnect(*, user) -> bool:
    """Forgets the token and the community, and deletes the cached VK catalog.

    Returns False when there was nothing to disconnect. Items already in VK stay there.
    """
    connection = VkConnection.objects.select_for_update().filter(user=user).first()
    if connection is None or not (connection.access_token or connection.group_id):
        return False
    connection.access_token = ""
    connection.refresh_token = ""
    connection.token_expires_at = None
    connection.device_id = ""
    connection.vk_user_id = None
    connection.token_kind = VkTokenKind.PASTED
    connection.token_verified_at = None
    connection.group_id = None
    connection.group_name = ""
    connection.last_error = ""
    connection.last_checked_at = None
    if connection.state != ConnectionState.DISABLED:
        connection.state = ConnectionState.OK
    connection.save()
    # Nothing is left to fix, so no alert about the old token or community stays either; the
    # cached VK catalog goes with the connection (vk_catalog's receiver).
    _announce_restored(user, disconnected=True)
    logger.info("VK connection removed", extra={"user_id": user.pk})
    return True


def _announce_restored(user, *, disconnected: bool = False) -> None:
    connection_restored.send_robust(
        VkConnection, user=user, vendor=VENDOR_VK, disconnected=disconnected
    )


def broken_reason(error: vk_errors.VkApiError) -> str:
    """Which `connections.signals.REASON_*` a VK error that breaks a connection stands for."""
    if isinstance(error, vk_errors.VkMarketDisabledError):
        return REASON_MARKET_OFF
    if isinstance(error, vk_errors.VkAuthError):
        return REASON_TOKEN
    return REASON_ACCESS


@transaction.atomic
def vk_connection_mark_broken(
    connection: VkConnection, message: str, *, reason: str = REASON_TOKEN
) -> None:
    """Records that VK refuses this connection (token revoked, rights, Market off, community
    gone), with the explanation the merchant sees. A connection staff disabled stays disabled.

    A connection that becomes broken here sends `connection_broken` with `reason` (one of
    `connections.signals.REASON_*`), and the merchant gets an alert; one already broken does not.
    """
    now = timezone.now()
    current = VkConnection.objects.select_for_update().filter(pk=connection.pk).first()
    previous = current.state if current is not None else connection.state
    state = (
        ConnectionState.DISABLED if previous == ConnectionState.DISABLED else ConnectionState.BROKEN
    )
    VkConnection.objects.filter(pk=connection.pk).update(
        state=state, last_error=message, last_checked_at=now, updated_at=now
    )
    connection.state, connection.last_error, connection.last_checked_at = state, message, now
    logger.warning("VK connection broken", extra={"user_id": connection.user_id})
    if current is not None and previous == ConnectionState.OK:
        connection_broken.send_robust(
            VkConnection, user=current.user, vendor=VENDOR_VK, message=message, reason=reason
        )


@transaction.atomic
def vk_connection_mark_ok(connection: VkConnection, *, announce: bool = False) -> None:
    """Records that the connection works again (a successful test or run).

    A broken connection that works again sends `connection_restored` (its alerts go); with
    `announce` (a check the merchant asked for) it is sent whatever the state was.
    """
    now = timezone.now()
    current = VkConnection.objects.select_for_update().filter(pk=connection.pk).first()
    previous = current.state if current is not None else connection.state
    state = ConnectionState.DISABLED if previous == ConnectionState.DISABLED else ConnectionState.OK
    VkConnection.objects.filter(pk=connection.pk).update(
        state=state, last_error="", last_checked_at=now, token_verified_at=now, updated_at=now
    )
    connection.state, connection.last_error, connection.last_checked_at = state, "", now
    connection.token_verified_at = now
    if current is not None and (
        previous == ConnectionState.BROKEN or (announce and previous == ConnectionState.OK)
    ):
        _announce_restored(current.user)


def vk_connection_record_error(connection: VkConnection, error: vk_errors.VkApiError) -> bool:
    """For a run that hit `error`: marks the connection broken when only the merchant can fix
    the cause (token, rights, Market off). Returns whether it did."""
    if isinstance(
        error,
        vk_errors.VkAuthError | vk_errors.VkPermissionError | vk_errors.VkMarketDisabledError,
    ):
        vk_connection_mark_broken(connection, error.user_message, reason=broken_reason(error))
        return True
    return False
