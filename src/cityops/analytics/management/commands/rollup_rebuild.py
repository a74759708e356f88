"""`cityops rollup_rebuild [--since YYYY-MM-DD]`: recompute the dashboard rollups from the cases."""

from django.core.management.base import BaseCommand, CommandError

from cityops.analytics.periods import PeriodError, parse_day
from cityops.analytics.rollups import rollup_rebuild


class Command(BaseCommand):
    help = "重新生成态势看板的统计汇总表（全部，或从某日起）"

    def add_arguments(self, parser):
        parser.add_argument("--since", help="只重算该日（含）以后的数据，格式 YYYY-MM-DD")

    def handle(self, *args, since=None, **options):
        try:
            day = parse_day(since, "since")
        except PeriodError as exc:
            raise CommandError(exc.message) from None
        result = rollup_rebuild(since=day)
        scope = f"自 {day} 起" if day else "全部"
        self.stdout.write(
            f"统计汇总表已重建（{scope}）：日 {result.daily_rows} 行，月 {result.monthly_rows} 行，"
            f"未办结快照 {result.open_cases} 件，用时 {result.seconds} 秒"
        )
