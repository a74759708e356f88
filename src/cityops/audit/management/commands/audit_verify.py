"""`cityops audit_verify`: recompute the audit trail's HMAC chain."""

from django.core.management.base import BaseCommand, CommandError

from cityops.audit.services import chain_report


class Command(BaseCommand):
    help = "校验审计日志哈希链是否完整（未被篡改、删除或插入；HMAC 密钥见 docs/deploy.md）"

    def handle(self, *args, **options):
        report = chain_report()
        if not report.ok:
            raise CommandError(f"审计日志哈希链校验失败：第一处异常在 ID {report.first_bad}（{report.reason}）。")
        self.stdout.write(self.style.SUCCESS(f"审计日志哈希链完整（共 {report.count} 条）。"))
