"""What the analytics app adds (see `cityops.common.plugins`): its pages on the menu, the
periodic repair of the rollups (with the hot issues) and the scheduled weekly/monthly reports."""

from cityops.accounts import roles
from cityops.analytics.reports import generate_due_reports
from cityops.analytics.services import rollup_repair
from cityops.common.plugins import Job, NavItem, Plugin

_CENTER = frozenset({roles.LEADER, roles.DISPATCHER, roles.OPERATOR})

PLUGIN = Plugin(
    nav=(
        NavItem("态势看板", "analytics:dashboard", _CENTER, order=60,
                description="今日/本周/本月案件量、趋势、时限、超期、热点与异常、满意度，图表可点开案件"),
        NavItem("指挥大屏", "analytics:bigscreen", _CENTER, order=65,
                description="1920×1080 深色大屏：地图、今日数据、实时案件、超期告警、中心绩效目标"),
        NavItem("分析报告", "analytics:reports", frozenset({roles.LEADER, roles.DISPATCHER}), order=66,
                description="周报、月报：XLSX 工作簿与可打印的报告（概况、分类、街道、部门、超期、热点、排名）"),
    ),
    jobs=(
        Job("rollups", rollup_repair, "CITYOPS_ROLLUP_SECONDS", 300, expires=290, soft_time_limit=1200),
        Job("reports", generate_due_reports, "CITYOPS_REPORT_SECONDS", 3600, expires=3000, soft_time_limit=1800),
    ),
)
