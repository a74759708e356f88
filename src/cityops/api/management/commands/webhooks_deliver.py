"""`cityops webhooks_deliver`: one run of the webhook outbox (what the periodic job does)."""

from django.core.management.base import BaseCommand

from cityops.api.webhooks import deliver_due_webhooks


class Command(BaseCommand):
    help = "扫描案件日志补齐待推送记录，并推送到期的 Webhook（失败的按指数退避重试）。"

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=200, help="本次最多推送的条数")

    def handle(self, *args, limit=200, **options):
        run = deliver_due_webhooks(limit=limit)
        self.stdout.write(f"补齐 {run['swept']} 条，送达 {run['sent']} 条，失败待重试 {run['failed']} 条，放弃 {run['given_up']} 条。")
