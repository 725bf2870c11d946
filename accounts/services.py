"""Writes on users: registration, confirmation, invitations, status changes, deletion.

Functions that send an e-mail make their database change in a transaction of its own first, then
send: a message is never sent for a change that was rolled back, and a slow mail server never
holds the database. A failed delivery does not undo the change; the result says whether the
message went out, so the page can say so (and the user can ask for a new one).
"""

from __future__ import annotations

import hashlib
import logging
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _

from accounts import tokens
from accounts.emails import absolute_url, send_templated_email_safely
from accounts.models import Role, Status, User
from accounts.selectors import user_get_pending_by_email

logger = logging.getLogger(__name__)

EMAIL_TEMPLATES = "accounts/email"


class MailedUser(NamedTuple):
    """A user a service created or changed, and whether the e-mail about it went out."""

    user: User
    email_sent: bool


def _duplicate_email_error() -> ValidationError:
    return ValidationError(
        _("An account with this e-mail address already exists."), code="duplicate_email"
    )


def _create_user(**fields) -> User:
    """`create_user` that turns a lost race on the unique e-mail into a clear ValidationError."""
    email = User.objects.normalize_email(fields.pop("email")).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise _duplicate_email_error()
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, **fields)
    except IntegrityError as exc:
        raise _duplicate_email_error() from exc


def user_register(*, email: str, full_name: str, password: str) -> MailedUser:
    """Creates a merchant account in the pending state and e-mails the confirmation link.

    The account cannot be used until the address is confirmed (`user_confirm_email`).
    Raises ValidationError (code `duplicate_email`) if the address is taken.
    """
    user = _create_user(
        email=email,
        password=password,
        full_name=full_name.strip(),
        role=Role.USER,
        status=Status.PENDING,
    )
    logger.info("user registered", extra={"user_id": user.pk})
    return MailedUser(user, user_send_confirmation(user=user))


def user_send_confirmation(*, user: User) -> bool:
    """E-mails `user` a signed link that confirms their address (valid EMAIL_CONFIRM_MAX_AGE_HOURS)."""
    link = absolute_url("accounts:confirm_email", token=tokens.email_confirmation_token_make(user))
    return send_templated_email_safely(
        user.email,
        f"{EMAIL_TEMPLATES}/confirm_email",
        {"user": user, "link": link, "expires_hours": settings.EMAIL_CONFIRM_MAX_AGE_HOURS},
    )


@transaction.atomic
def user_confirm_email(*, user: User) -> User:
    """Records that `user` owns their address; a pending account becomes active.

    A suspended account stays suspended: confirming an address is not a way around staff.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = timezone.now()
    if user.status == Status.PENDING:
        user.status = Status.ACTIVE
    user.save(update_fields=["email_confirmed_at", "status"])
    logger.info("user confirmed email", extra={"user_id": user.pk})
    return user


def public_email_allowed(*, kind: str, email: str) -> bool:
    """Whether a form anybody can fill in may e-mail `email` now (`kind`: which form).

    At most one such message per address and form per ACCOUNTS_PUBLIC_EMAIL_INTERVAL_SECONDS,
    so nobody can flood someone's inbox through "send the link again" or "forgot password" (nor
    spoil the sender's reputation with the mail provider). Counted in the shared cache; the
    address is hashed in the key. An interval of 0 turns the limit off.
    """
    interval = settings.ACCOUNTS_PUBLIC_EMAIL_INTERVAL_SECONDS
    if interval <= 0:
        return True
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    allowed = cache.add(f"accounts:public-email:{kind}:{digest}", 1, timeout=interval)
    if not allowed:
        logger.info("public e-mail throttled", extra={"kind": kind})
    return allowed


def user_resend_confirmation(*, email: str) -> None:
    """Sends a new link to a pending account with this address, if there is one.

    Answers nothing either way, so the form cannot be used to find out who has an account.
    An invited account (no password yet) gets a new invitation instead: that is the link it needs.
    A repeat within the public e-mail interval sends nothing (`public_email_allowed`).
    """
    user = user_get_pending_by_email(email)
    if user is None:
        return
    if not public_email_allowed(kind="confirmation", email=user.email):
        return
    if user.has_usable_password():
        user_send_confirmation(user=user)
    else:
        user_send_invite(user=user)


def user_invite(
    *,
    email: str,
    full_name: str = "",
    role: str = Role.USER,
    invited_by: User | None = None,
) -> MailedUser:
    """Creates a pending account without a password and e-mails it an invitation link.

    The invitee sets a password through the link (`user_accept_invite`), which also confirms the
    address. Raises ValidationError (code `duplicate_email`) if the address is taken.
    """
    user = _create_user(
        email=email, password=None, full_name=full_name.strip(), role=role, status=Status.PENDING
    )
    logger.info(
        "user invited",
        extra={"user_id": user.pk, "invited_by": invited_by.pk if invited_by else None},
    )
    return MailedUser(user, user_send_invite(user=user, invited_by=invited_by))


def user_send_invite(*, user: User, invited_by: User | None = None) -> bool:
    """E-mails `user` a signed invitation link (valid INVITE_EXPIRE_HOURS).

    Only a pending account can accept an invitation; for any other the link would be dead.
    """
    if user.status != Status.PENDING:
        return False
    link = absolute_url("accounts:invite_accept", token=tokens.invite_token_make(user))
    return send_templated_email_safely(
        user.email,
        f"{EMAIL_TEMPLATES}/invite",
        {
            "user": user,
            "link": link,
            "invited_by": invited_by,
            "expires_hours": settings.INVITE_EXPIRE_HOURS,
        },
    )


@transaction.atomic
def user_accept_invite(*, user: User, password: str, full_name: str | None = None) -> User:
    """Sets the invitee's password (and name), confirms their address and activates the account."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.status != Status.PENDING:
        raise ValidationError(_("This invitation is no longer valid."), code="invite_used")
    user.set_password(password)
    if full_name is not None and full_name.strip():
        user.full_name = full_name.strip()
    user.email_confirmed_at = user.email_confirmed_at or timezone.now()
    user.status = Status.ACTIVE
    user.save()
    logger.info("user accepted invite", extra={"user_id": user.pk})
    return user


def user_activate(*, user: User, notify: bool = False) -> MailedUser:
    """Makes the account active (clearing any suspension reason).

    With `notify`, a user who could not log in before is told by e-mail that now they can (or,
    an invitee who never chose a password, sent a link to choose one).
    """
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        was_active = user.status == Status.ACTIVE
        user.status = Status.ACTIVE
        user.suspension_reason = ""
        user.save(update_fields=["status", "suspension_reason"])
    logger.info("user activated", extra={"user_id": user.pk})
    sent = False
    if notify and not was_active:
        if user.has_usable_password():
            sent = send_templated_email_safely(
                user.email,
                f"{EMAIL_TEMPLATES}/account_activated",
                {"user": user, "link": absolute_url("accounts:login")},
            )
        else:
            # An invitee activated before choosing a password: the link they need sets one.
            sent = user_send_password_reset(user=user)
    return MailedUser(user, sent)


@transaction.atomic
def user_suspend(*, user: User, reason: str) -> User:
    """Suspends the account: the user is refused at login, shown `reason`, and any open session
    stops working on its next request (`EmailBackend.get_user`)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    user.status = Status.SUSPENDED
    user.suspension_reason = reason.strip()[:300]
    user.save(update_fields=["status", "suspension_reason"])
    logger.info("user suspended", extra={"user_id": user.pk})
    return user


def user_send_password_reset(*, user: User) -> bool:
    """E-mails `user` a link to choose a new password (Django's reset token, valid
    PASSWORD_RESET_TIMEOUT seconds and only until the password or the last login changes)."""
    link = absolute_url(
        "accounts:password_reset_confirm",
        uidb64=urlsafe_base64_encode(force_bytes(user.pk)),
        token=default_token_generator.make_token(user),
    )
    return send_templated_email_safely(
        user.email,
        f"{EMAIL_TEMPLATES}/password_reset",
        {
            "user": user,
            "link": link,
            "expires_hours": max(1, round(settings.PASSWORD_RESET_TIMEOUT / 3600)),
        },
    )


def user_request_password_reset(*, email: str) -> int:
    """The "forgot password" form: e-mails a reset link to the active account with this address.

    Returns how many messages went out (0 for an unknown address, or a repeat within the public
    e-mail interval: the page says the same either way).
    """
    sent = 0
    for user in User.objects.filter(email__iexact=email.strip(), status=Status.ACTIVE):
        if public_email_allowed(kind="password_reset", email=user.email):
            sent += int(user_send_password_reset(user=user))
    return sent


@transaction.atomic
def user_update_profile(*, user: User, full_name: str, phone: str) -> User:
    """Saves the name and phone a user edits on their profile page."""
    user.full_name = full_name.strip()
    user.phone = phone.strip()
    user.save(update_fields=["full_name", "phone"])
    return user


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Deletes the account and, through CASCADE, everything that belongs to it (connections,
    cached catalogs, sync settings and history)."""
    user_id = user.pk
    user.delete()
    logger.info("user deleted", extra={"user_id": user_id})
