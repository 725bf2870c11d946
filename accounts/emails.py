"""Templated e-mail, for every app: one message from a subject / text / HTML template triplet.

    send_templated_email("owner@example.ru", "sync/email/token_revoked", {"user": user})

renders `sync/email/token_revoked_subject.txt`, `.txt` and `.html` and sends them through
Django's configured backend (settings.EMAIL_BACKEND, chosen by EMAIL_PROVIDER). The templates get
`BASE_URL` and `site_name` on top of the given context; links in them must be absolute
(`absolute_url`), since a mail client has no page to be relative to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

logger = logging.getLogger(__name__)

SITE_NAME = "EvoSync"


def absolute_url(viewname: str, *args: Any, **kwargs: Any) -> str:
    """The full address of a named URL on this site, built on settings.BASE_URL."""
    return settings.BASE_URL + reverse(viewname, args=args or None, kwargs=kwargs or None)


def render_templated_email(
    template_prefix: str, context: Mapping[str, Any] | None = None
) -> tuple[str, str, str]:
    """(subject, text body, HTML body) of the triplet at `template_prefix`, in the active language."""
    full_context = {"BASE_URL": settings.BASE_URL, "site_name": SITE_NAME, **(context or {})}
    subject = render_to_string(f"{template_prefix}_subject.txt", full_context)
    # A header must be one line, whatever the template's whitespace.
    subject = " ".join(subject.split())
    text = render_to_string(f"{template_prefix}.txt", full_context).strip() + "\n"
    html = render_to_string(f"{template_prefix}.html", full_context)
    return subject, text, html


def send_templated_email(
    to: str | Iterable[str],
    template_prefix: str,
    context: Mapping[str, Any] | None = None,
    *,
    language: str | None = None,
    from_email: str | None = None,
    reply_to: Iterable[str] | None = None,
) -> None:
    """Renders the triplet at `template_prefix` and sends it to `to` (one address or several).

    `language` renders the message in that language (default: the active one, which in a request
    is the visitor's and elsewhere settings.LANGUAGE_CODE). Delivery errors propagate: the caller
    decides whether a failed e-mail is fatal (see `send_templated_email_safely`).
    """
    recipients = [to] if isinstance(to, str) else list(to)
    with translation.override(language or translation.get_language() or settings.LANGUAGE_CODE):
        subject, text, html = render_templated_email(template_prefix, context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        reply_to=list(reply_to) if reply_to else None,
    )
    message.attach_alternative(html, "text/html")
    message.send()
    # The template name says what was sent; the addresses are personal data, so only a count.
    logger.info("email sent", extra={"template": template_prefix, "recipients": len(recipients)})


def send_templated_email_safely(
    to: str | Iterable[str],
    template_prefix: str,
    context: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> bool:
    """`send_templated_email` that logs a delivery failure and answers False instead of raising.

    For mail that follows a change already made (a registration, an alert): the change stands,
    and the page or task tells whoever is watching that the message did not go out.
    """
    try:
        send_templated_email(to, template_prefix, context, **kwargs)
    except OSError:  # smtplib.SMTPException and socket errors alike; template bugs still raise
        logger.exception("email not sent", extra={"template": template_prefix})
        return False
    return True
