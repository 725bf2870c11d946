"""What the Evotor webhooks do to accounts and connections (docs/contracts/evotor-api.md §7).

Replays are safe everywhere: Evotor repeats a call whose answer it did not get, so the same
call twice gives the same result.

* `/user/create` with a userId that is already linked answers the same EvoSync token again when
  the e-mail is the same one (or none is sent); another e-mail gets 2005. An e-mail that
  already has an EvoSync account gets 2005 too: that merchant should sign in (verify) instead.
* `/user/verify` links an existing account after checking its password (1006 when wrong); an
  account linked to another Evotor user, or an Evotor user linked to another account, gets 2004.
* `/user/token` stores the cloud token (encrypted) and starts a catalog refresh after commit.
* installation events switch the connection off and on; each event is applied once, and an
  event older than the last applied one for that user is recorded but not applied.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Status, User
from accounts.services import user_send_confirmation, user_send_invite
from connections.evotor_selectors import evotor_connection_by_evotor_user_id
from connections.evotor_services import evotor_connection_receive_token
from connections.models import ConnectionState, EvotorConnection
from webhooks.errors import (
    ALREADY_REGISTERED,
    LINKED_ELSEWHERE,
    WRONG_CREDENTIALS,
    WebhookError,
    WebhookNotFound,
    incorrect,
    missing,
)
from webhooks.models import EventKind, EventOutcome, EvotorEvent
from webhooks.payloads import (
    InstallationEvent,
    SubscriptionEvent,
    UserCreate,
    UserToken,
    UserVerify,
)

logger = logging.getLogger(__name__)

INSTALLED = "ApplicationInstalled"
UNINSTALLED = "ApplicationUninstalled"
# How far ahead of our clock an event's time may be. Later times are taken as "now": an event
# dated next year would otherwise make every genuine event until then look older ("stale").
EVENT_CLOCK_SKEW = timedelta(minutes=5)


def _bounded_time(event):
    """The event, its time replaced by now when it is more than EVENT_CLOCK_SKEW ahead."""
    now = timezone.now()
    if event.occurred_at is not None and event.occurred_at > now + EVENT_CLOCK_SKEW:
        logger.warning(
            "Evotor event dated in the future; using the current time",
            extra={"event_id": event.event_id, "occurred_at": event.occurred_at.isoformat()},
        )
        return dataclasses.replace(event, occurred_at=now)
    return event


def _linked_connection(evotor_user_id: str, *, lock: bool = False) -> EvotorConnection | None:
    """The connection of the account linked to this Evotor user, if any."""
    connection = evotor_connection_by_evotor_user_id(evotor_user_id=evotor_user_id)
    if connection is None:
        user = User.objects.filter(evotor_user_id=evotor_user_id).first()
        if user is None:
            return None
        connection, _created = EvotorConnection.objects.get_or_create(
            user=user, defaults={"evotor_user_id": evotor_user_id}
        )
        if connection.evotor_user_id != evotor_user_id:
            connection.evotor_user_id = evotor_user_id
            connection.save(update_fields=["evotor_user_id", "updated_at"])
    if lock:
        connection = (
            EvotorConnection.objects.select_for_update()
            .select_related("user")
            .get(pk=connection.pk)
        )
    return connection


def _link(user: User, evotor_user_id: str) -> EvotorConnection:
    connection, _created = EvotorConnection.objects.select_for_update().get_or_create(user=user)
    if connection.evotor_user_id != evotor_user_id:
        connection.evotor_user_id = evotor_user_id
        connection.save(update_fields=["evotor_user_id", "updated_at"])
    if user.evotor_user_id != evotor_user_id:
        user.evotor_user_id = evotor_user_id
        user.save(update_fields=["evotor_user_id"])
    return connection


def _replay_of_create(connection: EvotorConnection, payload: UserCreate) -> EvotorConnection:
    if payload.email is None or connection.user.email.lower() == payload.email:
        return connection
    raise WebhookError(ALREADY_REGISTERED, reason="already registered", subject="userId")


@transaction.atomic
def evotor_user_create(*, payload: UserCreate) -> EvotorConnection:
    """Create an EvoSync account for an Evotor user and link it (docs/contracts/evotor-api.md §7.1).

    Evotor vouches for its user, not for the e-mail address they type: anybody could name
    someone else's. So the account is pending until the address owner answers the e-mail sent
    after commit: a confirmation link when a password came with the call, an invitation to
    choose one when none did. Evotor's side works at once (the token is answered, /user/token
    is stored); only signing in to EvoSync waits for the confirmation (docs/security.md).
    """
    linked = _linked_connection(payload.evotor_user_id)
    if linked is not None:
        return _replay_of_create(linked, payload)
    if payload.email is None:
        raise missing("email")
    if User.objects.filter(email__iexact=payload.email).exists():
        raise WebhookError(ALREADY_REGISTERED, reason="already registered", subject="email")
    if payload.password is not None:
        try:
            validate_password(payload.password, user=User(email=payload.email))
        except ValidationError:
            raise incorrect("password") from None
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=payload.email,
                password=payload.password,
                status=Status.PENDING,
                full_name=payload.full_name,
                evotor_user_id=payload.evotor_user_id,
            )
            connection = EvotorConnection.objects.create(
                user=user, evotor_user_id=payload.evotor_user_id
            )
    except IntegrityError:
        # The same call arrived twice at once: the other one created the account.
        linked = _linked_connection(payload.evotor_user_id)
        if linked is None:
            raise WebhookError(
                ALREADY_REGISTERED, reason="already registered", subject="email"
            ) from None
        return _replay_of_create(linked, payload)
    transaction.on_commit(lambda: _ask_address_owner(user.pk))
    logger.info("Account created from Evotor", extra={"user_id": user.pk})
    return connection


def _ask_address_owner(user_id: int) -> None:
    """The confirmation link (a password was given) or an invitation to choose one."""
    user = User.objects.filter(pk=user_id, status=Status.PENDING).first()
    if user is None:
        return
    with translation.override(settings.LANGUAGE_CODE):
        if user.has_usable_password():
            user_send_confirmation(user=user)
        else:
            user_send_invite(user=user)


@transaction.atomic
def evotor_user_verify(*, payload: UserVerify) -> EvotorConnection:
    """Check an existing account's credentials and link it to the Evotor user (§7.2)."""
    user = User.objects.filter(email__iexact=payload.login).first()
    if user is None:
        # Hash anyway, so a missing account takes as long as a wrong password.
        User().set_password(payload.password)
        raise WebhookError(WRONG_CREDENTIALS, reason="wrong credentials", subject="username")
    if not user.check_password(payload.password) or user.status == Status.SUSPENDED:
        raise WebhookError(WRONG_CREDENTIALS, reason="wrong credentials", subject="username")
    own = EvotorConnection.objects.filter(user=user).first()
    current = user.evotor_user_id or (own.evotor_user_id if own else "")
    if current and current != payload.evotor_user_id:
        raise WebhookError(LINKED_ELSEWHERE, reason="linked to another account", subject="username")
    other = _linked_connection(payload.evotor_user_id)
    if other is not None and other.user_id != user.pk:
        raise WebhookError(LINKED_ELSEWHERE, reason="linked to another account", subject="userId")
    connection = _link(user, payload.evotor_user_id)
    logger.info("Account linked to Evotor", extra={"user_id": user.pk})
    return connection


def evotor_user_token(*, payload: UserToken) -> bool:
    """Store the cloud token Evotor delivers for a linked user (§7.3); True if it changed.

    Raises WebhookNotFound when no account is linked to that Evotor user.
    """
    with transaction.atomic():
        connection = _linked_connection(payload.evotor_user_id)
        if connection is None:
            raise WebhookNotFound(payload.evotor_user_id)
        try:
            return evotor_connection_receive_token(connection=connection, token=payload.token)
        except ValidationError:
            raise incorrect("token") from None


def _record(*, kind: str, event, outcome: str) -> bool:
    """Store the event once; False when its id was already recorded (a replay)."""
    try:
        with transaction.atomic():
            EvotorEvent.objects.create(
                kind=kind,
                event_id=event.event_id,
                event_type=event.type,
                evotor_user_id=event.evotor_user_id or "",
                occurred_at=event.occurred_at,
                outcome=outcome,
            )
    except IntegrityError:
        return False
    return True


@transaction.atomic
def evotor_installation_event_apply(*, event: InstallationEvent) -> str:
    """Apply ApplicationInstalled / ApplicationUninstalled (§7.4); returns the outcome.

    Uninstalling switches the connection off (state disabled) and keeps every piece of data;
    installing switches it back on. Other types are recorded and ignored.
    """
    event = _bounded_time(event)
    if event.event_id and EvotorEvent.objects.filter(event_id=event.event_id).exists():
        return "duplicate"
    app_id = settings.EVOTOR_APP_ID
    connection = None
    another_app = bool(app_id and event.product_id and event.product_id != app_id)
    if event.type not in (INSTALLED, UNINSTALLED) or another_app:
        outcome = EventOutcome.IGNORED
    elif not event.evotor_user_id:
        raise missing("data.userId")
    else:
        connection = _linked_connection(event.evotor_user_id, lock=True)
        newer = (
            event.occurred_at is not None
            and EvotorEvent.objects.filter(
                kind=EventKind.INSTALLATION,
                evotor_user_id=event.evotor_user_id,
                outcome=EventOutcome.APPLIED,
                occurred_at__gt=event.occurred_at,
            ).exists()
        )
        if connection is None:
            outcome = EventOutcome.UNKNOWN_USER
        elif newer:
            outcome = EventOutcome.STALE
        else:
            outcome = EventOutcome.APPLIED
    if not _record(kind=EventKind.INSTALLATION, event=event, outcome=outcome):
        return "duplicate"
    if outcome == EventOutcome.APPLIED:
        if event.type == UNINSTALLED:
            connection.state = ConnectionState.DISABLED
            with translation.override(settings.LANGUAGE_CODE):
                connection.last_error = _(
                    "The EvoSync app was removed in your Evotor account, so updates are "
                    "paused. Install the app again to resume them."
                )
        elif connection.state == ConnectionState.DISABLED:
            connection.state = ConnectionState.OK
            connection.last_error = ""
        connection.save(update_fields=["state", "last_error", "updated_at"])
    logger.info(
        "Evotor installation event",
        extra={"type": event.type, "outcome": str(outcome), "evotor_user": event.evotor_user_id},
    )
    return str(outcome)


def evotor_subscription_event_record(*, event: SubscriptionEvent) -> str:
    """Subscription events (§7.4) only matter when Evotor bills; we record and ignore them."""
    event = _bounded_time(event)
    if not _record(kind=EventKind.SUBSCRIPTION, event=event, outcome=EventOutcome.IGNORED):
        return "duplicate"
    return str(EventOutcome.IGNORED)
