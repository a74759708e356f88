"""`cityops report weekly [--period 2026-W47] [--output DIR]`."""

from cityops.analytics.management.commands._report import ReportCommand


class Command(ReportCommand):
    kind = "weekly"
    help = "生成全区周报（XLSX 工作簿与可打印的 HTML），默认为最近一个已结束的周"
