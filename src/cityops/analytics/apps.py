from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AnalyticsConfig(AppConfig):
    name = "cityops.analytics"
    label = "analytics"
    verbose_name = "态势监测与分析"

    def ready(self) -> None:
        # The periodic repair runs as the "rollups" job of cases/tasks.py (hook
        # cityops.analytics.services.rollup_repair), in Celery beat or the in-process scheduler.
        from cityops.analytics import rollups  # noqa: F401  (connects the case-event receiver)

        self._register_nav()
        post_migrate.connect(_build_missing_rollups, sender=self, dispatch_uid="analytics.build_missing_rollups")

    @staticmethod
    def _register_nav() -> None:
        from cityops.accounts import roles
        from cityops.web.navigation import NAV_ITEMS, NavItem

        center = frozenset({roles.LEADER, roles.DISPATCHER, roles.OPERATOR})
        items = [
            NavItem("态势看板", "analytics:dashboard", center, order=60,
                    description="今日/本周/本月案件量、趋势、时限、超期、热点与异常、满意度，图表可点开案件"),
            NavItem("指挥大屏", "analytics:bigscreen", center, order=65,
                    description="1920×1080 深色大屏：地图、今日数据、实时案件、超期告警、中心绩效目标"),
            NavItem("分析报告", "analytics:reports", frozenset({roles.LEADER, roles.DISPATCHER}), order=66,
                    description="周报、月报：XLSX 工作簿与可打印的报告（概况、分类、街道、部门、超期、热点、排名）"),
        ]
        known = {item.url_name for item in NAV_ITEMS}
        NAV_ITEMS.extend(item for item in items if item.url_name not in known)


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
