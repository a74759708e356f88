from django.apps import AppConfig


class AssessmentConfig(AppConfig):
    name = "cityops.assessment"
    label = "assessment"
    verbose_name = "考核评价"

    def plugin(self):
        """What this app adds to the menu, the roles, the schedule and the hooks (`assessment/plugin.py`)."""
        from cityops.assessment.plugin import PLUGIN

        return PLUGIN
