from django.apps import AppConfig


class GeoConfig(AppConfig):
    verbose_name = "地理网格"
    name = "cityops.geo"
    label = "geo"

    def ready(self) -> None:
        # Connects the signals that invalidate the point-lookup index.
        from cityops.geo import signals  # noqa: F401
