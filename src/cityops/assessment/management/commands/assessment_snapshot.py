"""`cityops assessment_snapshot [--month YYYY-MM | --last N]`: freeze the assessment counts of
closed months so the ranking pages read them instead of re-aggregating the event history."""

from django.core.management.base import BaseCommand, CommandError

from cityops.assessment.periods import PeriodError, current_month, parse_month, previous_month
from cityops.assessment.selectors import snapshot_month


class Command(BaseCommand):
    help = "生成已结束月份的考核快照（默认：上月）"

    def add_arguments(self, parser):
        parser.add_argument("--month", help="月份 YYYY-MM（须已结束）")
        parser.add_argument("--last", type=int, default=1, help="最近 N 个已结束的月份（默认 1）")

    def handle(self, *args, **options):
        if options["month"]:
            try:
                months = [parse_month(options["month"])]
            except PeriodError as exc:
                raise CommandError(str(exc)) from None
        else:
            if options["last"] < 1 or options["last"] > 120:
                raise CommandError("--last 须在 1 到 120 之间。")
            months, month = [], current_month()
            for _ in range(options["last"]):
                month = previous_month(month)
                months.append(month)
        for month in months:
            try:
                kinds = snapshot_month(month)
            except PeriodError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(f"{month:%Y-%m}：已生成 {len(kinds)} 类考核快照")
