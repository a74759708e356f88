from django.apps import AppConfig


class DesksConfig(AppConfig):
    """The role desks (受理台, 派遣台, 处置台, 指挥长视图), the case list and detail pages, their
    forms and presenters: the web face of `cases`, above `cases`, `routing` and `intake`.
    Its URLs keep the namespace `cases` and its templates and static files the prefix `cases/`."""

    name = "cityops.desks"
    label = "desks"
    verbose_name = "业务台"

    def plugin(self):
        """What this app adds to the menu, the roles, the schedule and the hooks (`desks/plugin.py`)."""
        from cityops.desks.plugin import PLUGIN

        return PLUGIN
