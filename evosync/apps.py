from django.apps import AppConfig


class EvosyncConfig(AppConfig):
    """The project package is an app too, for its management commands and templates tags."""

    name = "evosync"
