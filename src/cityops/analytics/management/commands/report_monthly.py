"""`cityops report monthly [--period 2026-11] [--output DIR]`."""

from cityops.analytics.management.commands._report import ReportCommand


class Command(ReportCommand):
    kind = "monthly"
    help = "生成全区月报（XLSX 工作簿与可打印的 HTML），默认为最近一个已结束的月"
