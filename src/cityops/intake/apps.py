from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "cityops.intake"
    label = "intake"
    verbose_name = "受理渠道"

    def plugin(self):
        """What this app adds to the menu, the roles, the schedule and the hooks (`intake/plugin.py`)."""
        from cityops.intake.plugin import PLUGIN

        return PLUGIN
