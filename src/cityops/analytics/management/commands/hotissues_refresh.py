"""`cityops hotissues_refresh [--days 7]`: recompute the hot issues now."""

from django.core.management.base import BaseCommand

from cityops.analytics.hotissues import WINDOW_DAYS, hot_issues_refresh


class Command(BaseCommand):
    help = "重新计算热点诉求（相似案件聚类）"

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=WINDOW_DAYS, help=f"统计最近几天（默认 {WINDOW_DAYS}）")

    def handle(self, *args, days=WINDOW_DAYS, **options):
        run = hot_issues_refresh(days=days)
        self.stdout.write(f"热点已更新：{run.case_count} 件案件，{len(run.clusters)} 个热点，用时 {run.duration_ms} 毫秒")
        for c in run.clusters[:10]:
            self.stdout.write(f"  {c['rank']:>2}. {c['size']} 件 / {c['reporters']} 人  {c['text'][:40]}")
