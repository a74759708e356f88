from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cityops.cases"
    label = "cases"
    verbose_name = "案件"

    def ready(self) -> None:
        import os
        import sys

        from django.conf import settings

        from cityops.cases import roles_extension  # noqa: F401

        # Only the serving child of `runserver` runs the in-process schedule, not its reloader.
        if getattr(settings, "CITYOPS_INPROCESS_SCHEDULER", False) and "runserver" in sys.argv and os.environ.get("RUN_MAIN") == "true":
            from cityops.cases import scheduler

            scheduler.start()
