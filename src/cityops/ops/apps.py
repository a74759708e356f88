from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Production operations: health checks, periodic-job bookkeeping, the load generator,
    the database-outage answer (503) and the benchmark-only endpoint."""

    name = "cityops.ops"
    label = "ops"
    verbose_name = "运行维护"

    def ready(self) -> None:
        from cityops.ops import dbfailure

        dbfailure.install()
