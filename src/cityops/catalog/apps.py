from django.apps import AppConfig


class CatalogConfig(AppConfig):
    verbose_name = "分类、部门与日历"
    name = "cityops.catalog"
    label = "catalog"

    def ready(self) -> None:
        # Connect the cache-invalidation receivers.
        from cityops.catalog import signals  # noqa: F401
