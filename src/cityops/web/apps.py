from django.apps import AppConfig


class WebConfig(AppConfig):
    verbose_name = "界面"
    name = "cityops.web"
    label = "web"

    def plugin(self):
        """What this app adds to the menu, the roles, the schedule and the hooks (`web/plugin.py`)."""
        from cityops.web.plugin import PLUGIN

        return PLUGIN
