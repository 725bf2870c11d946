"""Writes of a merchant's Evotor connection: save, test, mark broken/ok, disconnect.

The cloud token is what EvoSync sends to Evotor (docs/contracts/evotor-api.md §2). It is stored encrypted
(`EncryptedTextField`), shown only masked, and never put in a log line, a task argument or an
exception message. Texts meant for the merchant are Russian through gettext.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from connections.evotor_client import (
    EvotorAuthError,
    EvotorBadResponse,
    EvotorClient,
    EvotorError,
    EvotorRateLimited,
    EvotorStoreUnavailable,
    EvotorUnavailable,
)
from connections.models import ConnectionState, EvotorConnection
from connections.signals import (
    REASON_TOKEN,
    VENDOR_EVOTOR,
    connection_broken,
    connection_restored,
)
from evosync.runs import enqueue_task

logger = logging.getLogger(__name__)

# Evotor's cloud tokens look like UUIDs (§1); allow other URL-safe tokens of a sane length.
TOKEN_RE = re.compile(r"^[A-Za-z0-9._~+/=:-]+$")
TOKEN_MIN_LENGTH = 16
TOKEN_MAX_LENGTH = 512
CATALOG_REFRESH_TASK = "catalog.tasks.refresh_catalog_for_user"


def _announce_restored(user, *, disconnected: bool = False) -> None:
    connection_restored.send_robust(
        EvotorConnection, user=user, vendor=VENDOR_EVOTOR, disconnected=disconnected
    )


@dataclass(frozen=True)
class EvotorTestResult:
    """The outcome of checking a token. `recorded`: the connection's state now shows the
    message (a page shows it there, once). `saved`: False when a pasted token was refused and
    nothing changed."""

    ok: bool
    message: str
    stores: int | None = None
    recorded: bool = False
    saved: bool = True

    @property
    def transient(self) -> bool:
        return not self.ok and not self.recorded and self.saved


def evotor_token_clean(token: str) -> str:
    """The token without surrounding blanks, or a ValidationError in the merchant's words."""
    token = (token or "").strip()
    if not token:
        raise ValidationError(_("Paste the Evotor token."), code="required")
    if len(token) < TOKEN_MIN_LENGTH or len(token) > TOKEN_MAX_LENGTH:
        raise ValidationError(
            _(
                "This does not look like an Evotor token: it should be %(min)d to %(max)d "
                "characters long, like 1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d."
            ),
            code="length",
            params={"min": TOKEN_MIN_LENGTH, "max": TOKEN_MAX_LENGTH},
        )
    if not TOKEN_RE.match(token):
        raise ValidationError(
            _(
                "This does not look like an Evotor token: it may contain only Latin letters, "
                "digits and the characters - _ . ~ + / = :"
            ),
            code="characters",
        )
    return token


def evotor_error_message(error: EvotorError, *, worked_before: bool = True) -> str:
    """What to tell the merchant about an Evotor failure, in their language.

    `worked_before` tells a refused token that worked once (revoked, app removed) from one that
    never did (mistyped)."""
    if isinstance(error, EvotorStoreUnavailable):
        return _(
            "Evotor refused access to the store: the app is not paid for or not installed "
            "on the store's terminals."
        )
    if isinstance(error, EvotorAuthError):
        if error.status in (402, 403):
            return _(
                "Evotor denied access: the app is not installed or has no permission to read "
                "stores and products. Check the app in your Evotor account."
            )
        if not worked_before:
            return _(
                "Evotor does not accept this token: it is mistyped or incomplete. Copy it "
                "again whole from your Evotor account (Apps → EvoSync → Settings)."
            )
        return _(
            "Evotor no longer accepts the token: it was revoked or the app was removed. "
            "Reinstall the app in your Evotor account or paste a new token."
        )
    if isinstance(error, EvotorRateLimited):
        return _("Evotor asked us to slow down. We will try again a little later.")
    if isinstance(error, EvotorBadResponse):
        return _("Evotor sent an answer we could not read. We will try again later.")
    if isinstance(error, EvotorUnavailable):
        return _("Evotor is not answering right now. Try again in a few minutes.")
    if error.status:
        return _("Evotor returned an error (HTTP %(status)s).") % {"status": error.status}
    return _("Evotor returned an error.")


def evotor_catalog_refresh_enqueue(*, user_id: int) -> None:
    """Start a refresh of the user's cached Evotor catalog once the transaction commits.

    The task is named by its dotted path so this module does not depend on the catalog app.
    """
    transaction.on_commit(lambda: enqueue_task(CATALOG_REFRESH_TASK, user_id, user_id=user_id))


@transaction.atomic
def evotor_connection_save_token(*, user, token: str) -> EvotorConnection:
    """Store a cloud token the merchant pasted by hand (docs/contracts/evotor-api.md §2, second way).

    Saving resets the state to working; a new token starts a catalog refresh after commit.
    Raises ValidationError (and changes nothing) when the token is not plausible.
    """
    token = evotor_token_clean(token)
    connection, _created = EvotorConnection.objects.select_for_update().get_or_create(user=user)
    changed = connection.cloud_token != token
    _connection_set_token(connection, token)
    logger.info(
        "Evotor token saved by the merchant", extra={"user_id": user.pk, "changed": changed}
    )
    if changed:
        evotor_catalog_refresh_enqueue(user_id=user.pk)
    return connection


def _connection_set_token(connection: EvotorConnection, token: str) -> None:
    """Put a new token in place and mark the connection working again (announced if it was
    broken). The caller holds the row lock."""
    was_broken = connection.state == ConnectionState.BROKEN
    if connection.cloud_token != token:
        # A new token has not been checked yet, and has not worked yet.
        connection.last_checked_at = None
        connection.token_verified_at = None
    connection.cloud_token = token
    connection.state = ConnectionState.OK
    connection.last_error = ""
    connection.save()
    if was_broken:
        _announce_restored(connection.user)


@transaction.atomic
def evotor_connection_receive_token(*, connection: EvotorConnection, token: str) -> bool:
    """Store the cloud token Evotor delivered to /user/token (docs/contracts/evotor-api.md §2, §7.3).

    Returns True when something changed (a new token, or a connection that was not working),
    and then a catalog refresh starts after commit; a replay of the same token changes nothing.
    """
    token = evotor_token_clean(token)
    connection = EvotorConnection.objects.select_for_update().get(pk=connection.pk)
    changed = connection.cloud_token != token or connection.state != ConnectionState.OK
    if changed:
        _connection_set_token(connection, token)
        evotor_catalog_refresh_enqueue(user_id=connection.user_id)
    logger.info("Evotor token received", extra={"user_id": connection.user_id, "changed": changed})
    return changed


@transaction.atomic
def evotor_connection_mark_broken(connection: EvotorConnection, message: str) -> None:
    """Record that the token stopped working, with the merchant-facing reason.

    When the merchant saved another token meanwhile, the old token's failure is not recorded
    against the new one. A connection that becomes broken here sends `connection_broken` (the
    merchant gets an alert); one that was broken (or disabled) already does not.
    """
    current = EvotorConnection.objects.select_for_update().filter(pk=connection.pk).first()
    if current is None:
        return
    if current.cloud_token != connection.cloud_token:
        logger.info(
            "Evotor token changed meanwhile; not marking it broken",
            extra={"user_id": current.user_id},
        )
        return
    now = timezone.now()
    fields = {"last_error": message, "last_checked_at": now, "updated_at": now}
    if current.state != ConnectionState.DISABLED:
        fields["state"] = ConnectionState.BROKEN
    EvotorConnection.objects.filter(pk=current.pk).update(**fields)
    for name, value in fields.items():
        setattr(connection, name, value)
    logger.warning("Evotor connection broken", extra={"user_id": current.user_id})
    if current.state == ConnectionState.OK:
        connection_broken.send_robust(
            EvotorConnection,
            user=current.user,
            vendor=VENDOR_EVOTOR,
            message=message,
            reason=REASON_TOKEN,
        )


@transaction.atomic
def evotor_connection_mark_ok(connection: EvotorConnection, *, announce: bool = False) -> None:
    """Record a successful call: a broken connection works again. A connection disabled
    because the app was removed in Evotor stays disabled until Evotor reports it installed.

    A broken connection that works again sends `connection_restored` (its alert goes); with
    `announce` (a check the merchant asked for) it is sent whatever the state was.
    """
    now = timezone.now()
    fields = {"last_error": "", "last_checked_at": now, "token_verified_at": now, "updated_at": now}
    current = EvotorConnection.objects.select_for_update().filter(pk=connection.pk).first()
    if current is None:
        return
    if current.state != ConnectionState.DISABLED:
        fields["state"] = ConnectionState.OK
    EvotorConnection.objects.filter(pk=current.pk).update(**fields)
    for name, value in fields.items():
        setattr(connection, name, value)
    if current.state == ConnectionState.BROKEN or (
        announce and current.state == ConnectionState.OK
    ):
        _announce_restored(current.user)


def evotor_connection_test(*, connection: EvotorConnection | None) -> EvotorTestResult:
    """Call GET /stores with the saved token and say whether it works (docs/contracts/evotor-api.md §3.1).

    A rejected token marks the connection broken; an outage does not (it is not the
    merchant's doing). No transaction is held open during the HTTP call.
    """
    if connection is None or not connection.cloud_token:
        return EvotorTestResult(ok=False, message=_("Save the Evotor token first."))
    try:
        stores = EvotorClient(connection.cloud_token).list_stores()
    except EvotorAuthError as exc:
        message = evotor_error_message(exc, worked_before=connection.token_verified_at is not None)
        evotor_connection_mark_broken(connection, message)
        return EvotorTestResult(ok=False, message=message, recorded=True)
    except EvotorError as exc:
        logger.warning(
            "Evotor connection test failed",
            extra={"user_id": connection.user_id, "error": str(exc)},
        )
        EvotorConnection.objects.filter(pk=connection.pk).update(last_checked_at=timezone.now())
        return EvotorTestResult(ok=False, message=evotor_error_message(exc))
    evotor_connection_mark_ok(connection, announce=True)
    return EvotorTestResult(
        ok=True,
        message=_("The connection works: stores — %(count)d") % {"count": len(stores)},
        stores=len(stores),
        recorded=True,
    )


def evotor_connection_connect(*, user, token: str) -> EvotorTestResult:
    """Checks a token the merchant pasted at Evotor (GET /stores, docs/contracts/evotor-api.md §3.1), then
    saves it: a token Evotor refuses is not saved (the old one stays) and the message says it
    is mistyped; when Evotor is only unreachable the token is saved unchecked and the message
    says so; a working token is saved and recorded as working. Raises ValidationError for a
    token that cannot be one. No transaction is held open during the HTTP call.
    """
    token = evotor_token_clean(token)
    try:
        stores = EvotorClient(token).list_stores()
    except EvotorAuthError as exc:
        logger.info("Evotor refused a pasted token", extra={"user_id": user.pk})
        return EvotorTestResult(
            ok=False, message=evotor_error_message(exc, worked_before=False), saved=False
        )
    except EvotorError as exc:
        evotor_connection_save_token(user=user, token=token)
        return EvotorTestResult(
            ok=False,
            message=_(
                "The token is saved, but not checked yet: %(reason)s Press “Test the "
                "connection” in a few minutes."
            )
            % {"reason": evotor_error_message(exc)},
        )
    connection = evotor_connection_save_token(user=user, token=token)
    evotor_connection_mark_ok(connection, announce=True)
    return EvotorTestResult(
        ok=True,
        message=_("The Evotor token is saved and works: stores — %(count)d.")
        % {"count": len(stores)},
        stores=len(stores),
        recorded=True,
    )


@transaction.atomic
def evotor_connection_disconnect(*, connection: EvotorConnection) -> None:
    """Forget the cloud token and the cached Evotor catalog.

    The row itself stays: it holds the Evotor userId and the EvoSync token Evotor knows, so
    a later /user/token from Evotor still finds the merchant.
    """
    connection = EvotorConnection.objects.select_for_update().get(pk=connection.pk)
    connection.cloud_token = ""
    connection.state = ConnectionState.OK
    connection.last_error = ""
    connection.last_checked_at = None
    connection.save()
    # Nothing is left to fix (an alert about the old token would only confuse), and the cached
    # catalog read with the token goes (catalog's receiver).
    _announce_restored(connection.user, disconnected=True)
    logger.info("Evotor disconnected", extra={"user_id": connection.user_id})
