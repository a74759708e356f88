from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AnalyticsConfig(AppConfig):
    name = "cityops.analytics"
    label = "analytics"
    verbose_name = "态势监测与分析"

    def ready(self) -> None:
        # The periodic repair runs as the "rollups" job declared in plugin.py, in Celery beat
        # or the in-process scheduler.
        from cityops.analytics import rollups  # noqa: F401  (connects the case-event receiver)

        post_migrate.connect(_build_missing_rollups, sender=self, dispatch_uid="analytics.build_missing_rollups")

    def plugin(self):
        """What this app adds to the menu, the roles, the schedule and the hooks (`analytics/plugin.py`)."""
        from cityops.analytics.plugin import PLUGIN

        return PLUGIN


def _build_missing_rollups(sender, using="default", **kwargs) -> None:
    """After `migrate` on a database that has cases but no rollups yet, build them once."""
    from django.db import DatabaseError

    from cityops.analytics.rollups import rollup_rebuild, rollups_missing

    try:
        if rollups_missing():
            result = rollup_rebuild()
            if kwargs.get("verbosity", 1):
                print(f"统计汇总表已生成：日 {result.daily_rows} 行，月 {result.monthly_rows} 行，未办结 {result.open_cases} 件")
    except DatabaseError:  # tables of a partially migrated database
        pass
