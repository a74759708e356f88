from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "cityops.routing"
    label = "routing"
    verbose_name = "智能分拨"

    def ready(self) -> None:
        from cityops.routing import receivers, roles_extension  # noqa: F401
