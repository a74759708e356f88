from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Production operations: health checks, periodic-job bookkeeping, the load generator,
    the database-outage answer (503) and the benchmark-only endpoint."""

    name = "cityops.ops"
    label = "ops"
    verbose_name = "运行维护"
    # The 503 handler of the v1 API is registered where the API is wired (config/api.py):
    # importing the API here would load django-ninja and every router in every command.
