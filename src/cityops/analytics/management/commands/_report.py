"""`cityops report weekly|monthly [--period …] [--output DIR]`: the shared command behind
`report_weekly` and `report_monthly`."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cityops.analytics.reports import (
    KINDS,
    ReportPeriodError,
    report_build,
    report_dir,
    report_period_parse,
    report_write,
)

EXAMPLES = {"weekly": "2026-W47", "monthly": "2026-11"}


class ReportCommand(BaseCommand):
    kind = ""

    def add_arguments(self, parser):
        parser.add_argument("--period", default="", help=f"时段，例如 {EXAMPLES[self.kind]}；默认最近一个已结束的时段")
        parser.add_argument("--output", default="", help="输出目录（默认 var/reports，即“分析报告”页面列出的目录）")

    def handle(self, *args, period: str = "", output: str = "", **options):
        try:
            chosen = report_period_parse(self.kind, period)
        except ReportPeriodError as exc:
            raise CommandError(exc.message) from None
        directory = Path(output) if output else report_dir()
        if directory.exists() and not directory.is_dir():
            raise CommandError(f"输出位置“{directory}”不是目录。")
        paths = report_write(report_build(chosen), directory)
        self.stdout.write(f"{chosen.label}{KINDS[self.kind]}已生成：")
        for path in paths:
            self.stdout.write(str(path))
