"""Signed links for e-mail confirmation and invitations.

Both are `TimestampSigner` tokens (django.core.signing) with their own salt, so one kind can never
be used as the other. They carry the user's id and a fingerprint that stops working once the link
has done its job: the e-mail address for a confirmation, the password hash for an invitation.
Password-reset links are Django's own (`default_token_generator`, PASSWORD_RESET_TIMEOUT).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.utils.crypto import salted_hmac

from accounts.models import Status, User

EMAIL_CONFIRM_SALT = "accounts.email-confirm"
INVITE_SALT = "accounts.invite"


class TokenProblem(enum.StrEnum):
    EXPIRED = "expired"
    INVALID = "invalid"
    USED = "used"


@dataclass(frozen=True)
class TokenCheck:
    """What a link turned out to be. `user` is set whenever the link names a real user, even an
    expired or used one, so a page can offer to send a new link to that address."""

    user: User | None = None
    problem: TokenProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and self.user is not None


def _load(token: str, *, salt: str, max_age_hours: int) -> tuple[dict | None, TokenProblem | None]:
    signer = signing.TimestampSigner(salt=salt)
    try:
        return signer.unsign_object(token, max_age=max_age_hours * 3600), None
    except signing.SignatureExpired:
        # The signature is genuine, only old: its payload can still say whose link it was.
        return signer.unsign_object(token), TokenProblem.EXPIRED
    except (signing.BadSignature, ValueError, UnicodeError):
        return None, TokenProblem.INVALID


def _user(payload: dict | None) -> User | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        return None
    return User.objects.filter(pk=payload["u"]).first()


def email_confirmation_token_make(user: User) -> str:
    return signing.TimestampSigner(salt=EMAIL_CONFIRM_SALT).sign_object(
        {"u": user.pk, "e": user.email}
    )


def email_confirmation_token_check(token: str) -> TokenCheck:
    payload, problem = _load(
        token, salt=EMAIL_CONFIRM_SALT, max_age_hours=settings.EMAIL_CONFIRM_MAX_AGE_HOURS
    )
    user = _user(payload)
    if user is None or payload.get("e") != user.email:
        return TokenCheck(problem=TokenProblem.INVALID)
    if user.email_confirmed_at is not None and user.status != Status.PENDING:
        return TokenCheck(user=user, problem=TokenProblem.USED)
    return TokenCheck(user=user, problem=problem)


def _password_fingerprint(user: User) -> str:
    return salted_hmac(INVITE_SALT, user.password).hexdigest()[:16]


def invite_token_make(user: User) -> str:
    return signing.TimestampSigner(salt=INVITE_SALT).sign_object(
        {"u": user.pk, "p": _password_fingerprint(user)}
    )


def invite_token_check(token: str) -> TokenCheck:
    payload, problem = _load(token, salt=INVITE_SALT, max_age_hours=settings.INVITE_EXPIRE_HOURS)
    user = _user(payload)
    if user is None:
        return TokenCheck(problem=TokenProblem.INVALID)
    if user.status != Status.PENDING or payload.get("p") != _password_fingerprint(user):
        # Accepted already (the password changed and the account is active), or the account
        # was activated or suspended by staff since: either way this link has had its day.
        return TokenCheck(user=user, problem=TokenProblem.USED)
    return TokenCheck(user=user, problem=problem)
