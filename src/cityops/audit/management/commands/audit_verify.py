"""`cityops audit_verify`: recompute the audit trail's hash chain."""

from django.core.management.base import BaseCommand, CommandError

from cityops.audit.models import AuditEntry
from cityops.audit.services import verify_chain


class Command(BaseCommand):
    help = "校验审计日志哈希链是否完整（未被篡改、删除或插入）"

    def handle(self, *args, **options):
        ok, first_bad = verify_chain()
        if not ok:
            raise CommandError(f"审计日志哈希链校验失败：第一处异常在 ID {first_bad}。")
        self.stdout.write(self.style.SUCCESS(f"审计日志哈希链完整（共 {AuditEntry.objects.count()} 条）。"))
