"""Alerts: things only the merchant can fix (a revoked token, the community's Market off, a
captcha, a run held by the removal guard).

An active (unresolved) alert is a banner on every page; the merchant also gets an e-mail, at most
one per cause per day however often the cause comes back (docs/contracts/product.md: "an e-mail when something
needs the merchant"; docs/contracts/competitors.md §4.7: syncs that fail silently are what merchants hate).

The publishing engine calls `alert_raise` when a run stops for one of these causes and
`alert_resolve` once the cause is gone (a run that gets through, a token that tests fine).
Outside publishing, `sync/signals.py` does the same from the lower apps' signals: a connection
marked broken by a catalog refresh or a connection test (`connections.signals`), and VK's
"Market is off" seen by a VK catalog refresh (`vk_catalog.signals`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sync.models import Alert, AlertCause, RunStatus

logger = logging.getLogger(__name__)

EMAIL_INTERVAL = timedelta(days=1)
EMAIL_TEMPLATE = "sync/email/alert"


@dataclass(frozen=True)
class AlertHelp:
    """What the merchant should do about a cause, and the page where they do it."""

    advice: str
    fix_label: str
    fix_url_name: str


# Where each cause is fixed. The URL names belong to the connections app and to sync itself.
ALERT_HELP: dict[str, AlertHelp] = {
    AlertCause.TOKEN_REVOKED: AlertHelp(
        advice=_(
            "VK no longer accepts the access token, so nothing reaches your VK Market. "
            "Get a new token with the “market” and “photos” rights and save it on the VK "
            "connection page."
        ),
        fix_label=pgettext_lazy("alert fix link", "Fix the VK connection"),
        fix_url_name="connections:vk",
    ),
    AlertCause.MARKET_OFF: AlertHelp(
        advice=_(
            "The Market (“Товары”) section is turned off in your VK community. Turn it on in "
            "the community settings (Управление → Разделы → Товары), then publish again."
        ),
        fix_label=pgettext_lazy("alert fix link", "Check the VK connection"),
        fix_url_name="connections:vk",
    ),
    AlertCause.CAPTCHA: AlertHelp(
        advice=_(
            "VK asked for a captcha and stopped the run: this happens after many changes in a "
            "short time. EvoSync will try again on its next run; you can also start one by hand "
            "in an hour or so."
        ),
        fix_label=pgettext_lazy("alert fix link", "Open publishing"),
        fix_url_name="sync:dashboard",
    ),
    AlertCause.REMOVAL_GUARD: AlertHelp(
        advice=_(
            "A run would hide or delete an unusual share of your published items, so it waits "
            "for you. Check the list and confirm it, or cancel it if the catalog is not what "
            "it should be."
        ),
        fix_label=pgettext_lazy("alert fix link", "Review the run"),
        fix_url_name="sync:runs",
    ),
    AlertCause.EVOTOR_TOKEN_REVOKED: AlertHelp(
        advice=_(
            "Evotor no longer accepts the token, so EvoSync cannot read your catalog. Reinstall "
            "the app in the Evotor store or paste a new token on the Evotor connection page."
        ),
        fix_label=pgettext_lazy("alert fix link", "Fix the Evotor connection"),
        fix_url_name="connections:evotor",
    ),
}


def _reverse_or_dashboard(url_name: str) -> str:
    try:
        return reverse(url_name)
    except NoReverseMatch:
        # A page another app has not published yet: the dashboard still explains the problem.
        return reverse("sync:dashboard")


def alert_fix_url(alert: Alert) -> str:
    """The page where the merchant fixes what the alert is about (a path on this site)."""
    if alert.cause == AlertCause.REMOVAL_GUARD:
        held = alert.user.sync_runs.filter(status=RunStatus.HELD).order_by("-created_at").first()
        if held is not None:
            return reverse("sync:run_confirm", args=[held.pk])
    help_ = ALERT_HELP.get(alert.cause)
    return _reverse_or_dashboard(help_.fix_url_name if help_ else "sync:dashboard")


def alert_help(alert: Alert) -> AlertHelp | None:
    return ALERT_HELP.get(alert.cause)


def alert_raise(*, user, cause: str, message: str) -> Alert:
    """Creates the active alert for `cause` (or refreshes its message) and e-mails the merchant.

    At most one e-mail per cause per merchant per `EMAIL_INTERVAL`, counted from the last e-mail
    about that cause even if that alert was resolved since, so a token that flaps between broken
    and fixed does not flood the inbox. The e-mail leaves after the caller's transaction commits:
    none is sent for an alert that was rolled back, and a slow mail server never holds a lock.
    """
    if cause not in AlertCause.values:
        raise ValueError(f"Unknown alert cause {cause!r}.")
    now = timezone.now()
    with transaction.atomic():
        # One merchant's raises queue up on their user row, so two workers never create two
        # active alerts for one cause, nor both decide to send the day's e-mail.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        alert = (
            Alert.objects.filter(user=user, cause=cause, resolved_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if alert is None:
            alert = Alert.objects.create(user=user, cause=cause, message=message)
        elif alert.message != message:
            alert.message = message
            alert.save(update_fields=["message"])
        last_emailed = Alert.objects.filter(user=user, cause=cause).aggregate(
            last=Max("last_emailed_at")
        )["last"]
        email_due = last_emailed is None or now - last_emailed >= EMAIL_INTERVAL
        if email_due:
            # Claimed before sending: a second raise in the same minute sees it and stays quiet.
            alert.last_emailed_at = now
            alert.save(update_fields=["last_emailed_at"])
            alert_pk = alert.pk
            transaction.on_commit(lambda: _alert_email_send(alert_pk, previous=last_emailed))
    logger.info("sync alert raised", extra={"user_id": user.pk, "cause": cause})
    return alert


def alert_resolve(*, user, cause: str) -> int:
    """Marks the merchant's active alert for `cause` resolved (its banner goes); returns how many."""
    return Alert.objects.filter(user=user, cause=cause, resolved_at__isnull=True).update(
        resolved_at=timezone.now()
    )


def _alert_email_send(alert_pk: int, *, previous) -> bool:
    """Sends the alert e-mail; on a delivery failure gives the day's e-mail back for a retry."""
    from accounts.emails import absolute_url, send_templated_email_safely

    alert = Alert.objects.select_related("user").filter(pk=alert_pk).first()
    if alert is None:
        return False
    help_ = alert_help(alert)
    context = {
        "user": alert.user,
        "alert": alert,
        "cause_label": alert.get_cause_display(),
        "advice": help_.advice if help_ else "",
        "fix_label": help_.fix_label if help_ else "",
        "fix_url": settings.BASE_URL + alert_fix_url(alert),
        "dashboard_url": absolute_url("sync:dashboard"),
        "settings_url": absolute_url("sync:settings"),
    }
    sent = send_templated_email_safely(
        alert.user.email, EMAIL_TEMPLATE, context, language=settings.LANGUAGE_CODE
    )
    if not sent:
        Alert.objects.filter(pk=alert.pk).update(last_emailed_at=previous)
    return sent
