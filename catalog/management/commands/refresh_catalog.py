"""`manage.py refresh_catalog [--user EMAIL]`: read Evotor catalogs now, in the foreground."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import RefreshTrigger
from catalog.selectors import users_to_refresh
from catalog.services import RefreshProgress, catalog_refresh_for_user


class Command(BaseCommand):
    help = gettext_lazy(
        "Refresh the cached Evotor catalog of one user, or of every user with a usable "
        "Evotor connection, printing progress as stores and products are read."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--user", metavar="EMAIL", help=gettext_lazy("Only this user's catalog.")
        )

    def handle(self, *args, user=None, **options):
        from accounts.models import User

        if user:
            account = User.objects.filter(email__iexact=user.strip()).first()
            if account is None:
                raise CommandError(
                    _("There is no user with the e-mail %(email)s.") % {"email": user}
                )
            if not users_to_refresh().filter(user_id=account.pk).exists():
                raise CommandError(
                    _(
                        "%(email)s has no usable Evotor connection (none, broken or switched "
                        "off, or the account is not active), so there is nothing to read."
                    )
                    % {"email": account.email}
                )
            accounts = [account]
        else:
            accounts = list(User.objects.filter(pk__in=users_to_refresh()).order_by("email"))
            if not accounts:
                self.stdout.write(_("No user has a usable Evotor connection; nothing to do."))
                return

        failed = 0
        for account in accounts:
            self.stdout.write(
                _("%(email)s: reading the Evotor catalog…") % {"email": account.email}
            )
            try:
                result = catalog_refresh_for_user(
                    user=account, trigger=RefreshTrigger.COMMAND, progress=self._progress
                )
            except Exception as exc:  # one user's crash must not stop the others
                failed += 1
                self.stderr.write(
                    _("%(email)s: internal error: %(error)s")
                    % {"email": account.email, "error": type(exc).__name__}
                )
                continue
            if result.status == "skipped":
                self.stdout.write(
                    _("%(email)s: another refresh of this catalog is running; skipped.")
                    % {"email": account.email}
                )
            elif result.ok:
                self.stdout.write(
                    self.style.SUCCESS(
                        _(
                            "%(email)s: done. Stores: %(stores)d (skipped: %(skipped)d), "
                            "groups: %(groups)d, products: %(products)d, new or changed: "
                            "%(written)d, removed: %(removed)d."
                        )
                        % {
                            "email": account.email,
                            "stores": result.stores,
                            "skipped": result.stores_skipped,
                            "groups": result.groups,
                            "products": result.products,
                            "written": result.products_written,
                            "removed": result.products_removed,
                        }
                    )
                )
            else:
                failed += 1
                self.stderr.write(
                    _("%(email)s: failed. %(error)s")
                    % {"email": account.email, "error": result.error}
                )
        if failed:
            raise CommandError(
                _("The catalog could not be refreshed for %(count)d of %(total)d user(s).")
                % {"count": failed, "total": len(accounts)}
            )

    def _progress(self, event: RefreshProgress) -> None:
        if event.stage == "store":
            self.stdout.write(_("  store «%(name)s»") % {"name": event.store_name})
        elif event.stage == "products":
            self.stdout.write(_("    products read: %(count)d") % {"count": event.products})
        elif event.stage == "skipped":
            self.stdout.write(
                _("    Evotor does not give access to this store (402/403); skipped.")
            )
        elif event.stage == "store_done":
            self.stdout.write(
                _("    done: %(groups)d groups, %(products)d products")
                % {"groups": event.groups, "products": event.products}
            )
        self.stdout.flush()
