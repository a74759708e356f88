from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "cityops.routing"
    label = "routing"
    verbose_name = "智能分拨"

    def ready(self) -> None:
        from cityops.routing import receivers  # noqa: F401

    def plugin(self):
        """What this app adds to the menu, the roles, the schedule and the hooks (`routing/plugin.py`)."""
        from cityops.routing.plugin import PLUGIN

        return PLUGIN
