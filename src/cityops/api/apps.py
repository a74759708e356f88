from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "cityops.api"
    label = "api"
    verbose_name = "接口"

    def ready(self) -> None:
        from cityops.api import roles_extension  # noqa: F401
        from cityops.api.webhooks import on_case_event
        from cityops.cases.signals import case_event_committed

        case_event_committed.connect(on_case_event, dispatch_uid="cityops.api.webhooks")
