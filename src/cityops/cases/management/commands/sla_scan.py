from django.core.management.base import BaseCommand

from cityops.cases.sla_scan import sla_scan


class Command(BaseCommand):
    help = "扫描案件时限，标记即将超期/已超期并发送站内通知（可重复执行）"

    def handle(self, *args, **options):
        result = sla_scan()
        self.stdout.write(
            f"即将超期 {result.turned_yellow} 件，已超期 {result.turned_red} 件，发送通知 {result.notifications} 条"
        )
