from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cityops.cases"
    label = "cases"
    verbose_name = "案件"

    def plugin(self):
        """What this app adds to the menu, the roles, the schedule and the hooks (`cases/plugin.py`)."""
        from cityops.cases.plugin import PLUGIN

        return PLUGIN
