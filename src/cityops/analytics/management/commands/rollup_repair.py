"""`cityops rollup_repair [--days N]`: the periodic repair (last days + open-case snapshot)."""

from django.core.management.base import BaseCommand

from cityops.analytics.rollups import REPAIR_DAYS, rollup_repair


class Command(BaseCommand):
    help = "修复最近几天的统计汇总表和未办结案件快照（定时任务也会执行）"

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=REPAIR_DAYS, help=f"重算最近几天（默认 {REPAIR_DAYS}）")

    def handle(self, *args, days=REPAIR_DAYS, **options):
        result = rollup_repair(days=days)
        self.stdout.write(f"已修复：日 {result.daily_rows} 行，未办结快照 {result.open_cases} 件，用时 {result.seconds} 秒")
