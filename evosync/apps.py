from django.apps import AppConfig


class EvosyncConfig(AppConfig):
    """The project package is an app too, for its management commands and templates tags."""

    name = "evosync"

    def ready(self):
        # django.contrib.admin (first in INSTALLED_APPS) has loaded every admin module by now.
        from django.contrib import admin

        from evosync.admin_changelists import harden_changelists
        from evosync.admin_names import decline_admin_names

        harden_changelists(admin.site)
        decline_admin_names(admin.site)
