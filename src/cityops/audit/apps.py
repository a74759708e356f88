from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "cityops.audit"
    label = "audit"
    verbose_name = "审计日志"

    def ready(self) -> None:
        from django.contrib import admin

        from cityops.audit import checks, receivers, signals  # noqa: F401  (system checks; login, permission and configuration receivers)

        admin.site.add_action(receivers.audited_delete_selected, "delete_selected")

    def plugin(self):
        """What this app adds to the menu, the roles, the schedule and the hooks (`audit/plugin.py`)."""
        from cityops.audit.plugin import PLUGIN

        return PLUGIN
