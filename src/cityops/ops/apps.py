from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Production operations: health checks, periodic-job bookkeeping, the load generator,
    the database-outage answer (503) and the benchmark-only endpoint."""

    name = "cityops.ops"
    label = "ops"
    verbose_name = "运行维护"
    # The 503 handler of the v1 API is registered where the API is wired (config/api.py):
    # importing the API here would load django-ninja and every router in every command.

    def ready(self) -> None:
        from cityops.ops import scheduler

        # The process that serves requests (`cityops serve`, runserver's child, a gunicorn
        # worker) runs the periodic jobs itself unless Celery beat does (see scheduler.py).
        scheduler.install()

    def plugin(self):
        """What this app adds to the menu, the roles, the schedule and the hooks (`ops/plugin.py`)."""
        from cityops.ops.plugin import PLUGIN

        return PLUGIN
