import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from cityops.cases.fanout import BATCH, fan_out_pending, pending_count


class Command(BaseCommand):
    help = "分发已提交的案件日志（统计、查重索引、Webhook、智能分拨）；--follow 持续运行（秒级以下延迟）"

    def add_arguments(self, parser):
        parser.add_argument("--follow", action="store_true", help="持续运行：每隔 --idle 秒分发一批（积压时连续分发）")
        parser.add_argument("--idle", type=float, default=0.25, help="两轮之间的间隔（秒），默认 0.25")

    def handle(self, *args, follow: bool, idle: float, **options):
        if not follow:
            result = fan_out_pending()
            self.stdout.write(f"已分发 {result['events']} 条日志（{result['batches']} 批），剩余 {pending_count()} 条")
            return
        try:
            while True:
                close_old_connections()
                try:
                    result = fan_out_pending(max_seconds=5)
                except Exception as exc:  # database restarting: keep the follower alive, rows stay pending
                    self.stderr.write(f"分发失败，稍后重试：{exc}")
                    time.sleep(1)
                    continue
                # Pausing even after a busy round lets events gather into batches: a batch of
                # fifty costs about a third of fifty batches of one.
                if result["events"] < BATCH:
                    time.sleep(idle)
        except KeyboardInterrupt:
            pass
