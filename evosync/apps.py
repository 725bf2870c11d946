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

        from django_q.signals import pre_execute

        from evosync.queues import release_on_start

        # A task a worker starts is no longer pending (evosync.queues).
        pre_execute.connect(release_on_start, dispatch_uid="evosync.release_pending_on_start")
