"""`manage.py refresh_vk_catalog [--user EMAIL]`: read merchants' VK Markets now, in this process.

Without `--user`, every merchant with a usable VK connection is refreshed one after the other;
a failure of one is reported and the next one still runs. The exit status is non-zero when any
refresh failed or could not start.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from vk_catalog.models import RefreshStatus, RefreshTrigger
from vk_catalog.services import (
    VkCatalogUnavailable,
    vk_catalog_refresh_for_user,
    vk_catalog_usable_connections,
)


class Command(BaseCommand):
    help = "Read the VK Market albums and items of one merchant (--user) or of all merchants."

    def add_arguments(self, parser):
        parser.add_argument("--user", metavar="EMAIL", help="Only this merchant's catalog.")

    def handle(self, *args, user: str | None = None, **options):
        if user:
            merchant = get_user_model().objects.filter(email__iexact=user.strip()).first()
            if merchant is None:
                raise CommandError(
                    _("There is no user with the e-mail %(email)s.") % {"email": user}
                )
            if not self._refresh(merchant, fail_loudly=True):
                raise CommandError(
                    _("The refresh of %(email)s failed.") % {"email": merchant.email}
                )
            return

        merchants = [connection.user for connection in vk_catalog_usable_connections()]
        if not merchants:
            self.stdout.write(_("No merchant has a usable VK connection; nothing to refresh."))
            return
        failed = [merchant.email for merchant in merchants if not self._refresh(merchant)]
        self.stdout.write(
            _("Refreshed %(done)d of %(total)d VK catalogs.")
            % {"done": len(merchants) - len(failed), "total": len(merchants)}
        )
        if failed:
            raise CommandError(_("Failed: %(emails)s.") % {"emails": ", ".join(failed)})

    def _refresh(self, merchant, *, fail_loudly: bool = False) -> bool:
        self.stdout.write(_("%(email)s: reading VK…") % {"email": merchant.email})
        try:
            run = vk_catalog_refresh_for_user(
                user=merchant, trigger=RefreshTrigger.COMMAND, progress=self._progress
            )
        except VkCatalogUnavailable as exc:
            if fail_loudly:
                raise CommandError(f"{merchant.email}: {exc.user_message}") from exc
            self.stderr.write(f"{merchant.email}: {exc.user_message}")
            return False
        if run.status != RefreshStatus.OK:
            self.stderr.write(f"{merchant.email}: {run.error}")
            return False
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "%(email)s: %(items)d items in %(albums)d albums; %(created)d new, "
                    "%(updated)d changed, %(removed)d removed; %(requests)d VK requests."
                )
                % {
                    "email": merchant.email,
                    "items": run.items_seen,
                    "albums": run.albums_seen,
                    "created": run.created_count,
                    "updated": run.updated_count,
                    "removed": run.removed_count,
                    "requests": run.requests_made,
                }
            )
        )
        return True

    def _progress(self, stage: str, count: int) -> None:
        messages = {
            "albums": _("  albums read: %(count)d"),
            "items": _("  items read: %(count)d"),
            "saving": _("  saving %(count)d items…"),
        }
        self.stdout.write(messages[stage] % {"count": count})
