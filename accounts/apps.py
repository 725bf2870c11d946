from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from accounts import signals  # noqa: F401
        from accounts.roles import on_post_migrate

        post_migrate.connect(on_post_migrate, dispatch_uid="accounts.role_groups_sync")
