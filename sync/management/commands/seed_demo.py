"""`manage.py seed_demo`: a demo merchant connected to the local sandboxes, ready to publish.

`make run` (`manage.py run_local`) calls it after starting the sandbox, with EVOTOR_API_URL and
VK_API_URL pointing at it. Idempotent: a second run finds the merchant and brings it back to
the same state (password, connections, fresh catalogs) without creating anything twice.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

DEMO_EMAIL = "demo@evosync.local"
DEMO_PASSWORD = "evosync-demo"
DEMO_NAME = "Демо Магазин"
EVOTOR_DEMO_TOKEN = "evotor-demo-token"
VK_DEMO_TOKEN = "vk-demo-token"
VK_DEMO_GROUP_ID = 200001

PRODUCTION_HOSTS = {"api.evotor.ru", "api.vk.com", "api.vk.ru"}


class Command(BaseCommand):
    help = (
        "Create (or refresh) the demo merchant demo@evosync.local, connected to the local "
        "Evotor and VK sandboxes, with both catalogs read. Prints the login and password."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-refresh",
            action="store_true",
            help="Only create the merchant and the connections; do not read the catalogs.",
        )

    def handle(self, *args, **options):
        self._check_sandbox()
        user = self._merchant()
        self._connect(user)
        if not options["no_refresh"]:
            self._refresh(user)
        self._choose_category(user)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo merchant ready. Log in as {DEMO_EMAIL} with the password {DEMO_PASSWORD}"
            )
        )
        self.stdout.write(
            "Then: Catalog → switch a store on → Publishing → Preview → Publish; "
            "the items appear under VK catalog."
        )

    def _check_sandbox(self) -> None:
        hosts = {urlsplit(settings.EVOTOR_API_URL).hostname, urlsplit(settings.VK_API_URL).hostname}
        if hosts & PRODUCTION_HOSTS:
            raise CommandError(
                "seed_demo talks to the sandboxes only: run it through `manage.py run_local` "
                "(`make run`), or point EVOTOR_API_URL and VK_API_URL at `manage.py run_sandbox`."
            )

    @transaction.atomic
    def _merchant(self):
        from accounts.models import Role, Status, User

        user = User.objects.filter(email__iexact=DEMO_EMAIL).first()
        if user is None:
            user = User.objects.create_user(
                email=DEMO_EMAIL,
                password=DEMO_PASSWORD,
                full_name=DEMO_NAME,
                role=Role.USER,
                status=Status.ACTIVE,
            )
            self.stdout.write(f"Created the demo merchant {DEMO_EMAIL}.")
            return user
        # Whatever happened to it since, the printed password works again.
        user.set_password(DEMO_PASSWORD)
        user.role = Role.USER
        user.status = Status.ACTIVE
        user.save()
        self.stdout.write(f"The demo merchant {DEMO_EMAIL} exists; password reset to the demo one.")
        return user

    def _connect(self, user) -> None:
        from connections.evotor_services import evotor_connection_save_token
        from connections.vk_services import vk_connection_save, vk_connection_test

        evotor_connection_save_token(user=user, token=EVOTOR_DEMO_TOKEN)
        vk_connection_save(user=user, group_id=VK_DEMO_GROUP_ID, access_token=VK_DEMO_TOKEN)
        result = vk_connection_test(user=user)
        if result.ok:
            self.stdout.write(f"VK community connected: {result.group_name or VK_DEMO_GROUP_ID}.")
        else:
            self.stderr.write(self.style.WARNING(f"VK connection check failed: {result.message}"))

    def _refresh(self, user) -> None:
        from catalog.models import RefreshTrigger as CatalogTrigger
        from catalog.services import catalog_refresh_for_user
        from vk_catalog.models import RefreshTrigger as VkTrigger
        from vk_catalog.services import VkCatalogUnavailable, vk_catalog_refresh_for_user

        result = catalog_refresh_for_user(user=user, trigger=CatalogTrigger.COMMAND)
        if result.ok:
            self.stdout.write(
                f"Evotor catalog read: {result.stores} stores, {result.products} products."
            )
        else:
            # The scheduled refresh tries again; the demo login still works.
            self.stderr.write(
                self.style.WARNING(f"Evotor catalog not read ({result.status}): {result.error}")
            )
        try:
            run = vk_catalog_refresh_for_user(user=user, trigger=VkTrigger.COMMAND)
        except VkCatalogUnavailable as exc:
            self.stderr.write(
                self.style.WARNING(f"VK catalog not read: {getattr(exc, 'user_message', exc)}")
            )
            return
        if run.error:
            self.stderr.write(self.style.WARNING(f"VK catalog not read: {run.error}"))
        else:
            self.stdout.write(f"VK catalog read: {run.items_seen} items, {run.albums_seen} albums.")

    def _choose_category(self, user) -> None:
        from sync.inputs import sync_settings_get
        from sync.selectors import vk_categories

        settings_obj = sync_settings_get(user)
        if settings_obj.vk_category_id:
            return
        categories = vk_categories(user)
        first = next(
            (value for _group, options in categories.choices for value, _l in options), None
        )
        if first is None:
            return
        settings_obj.vk_category_id = first
        settings_obj.save(update_fields=["vk_category_id", "updated_at"])
        self.stdout.write(f"Default VK category chosen: {first}.")
