"""`cityops audit purge --before YYYY-MM-DD`: drop entries older than the date, keeping the chain verifiable."""

from datetime import date, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cityops.audit.services import PurgeRefused, audit_purge, retention_days


class Command(BaseCommand):
    help = "清理指定日期之前的审计日志（至少保留 AUDIT_RETENTION_DAYS 天，不少于 183 天），并写入检查点"

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, help="清理此日期（本地时间 0 点）之前的记录，格式 YYYY-MM-DD")

    def handle(self, *args, **options):
        try:
            day = date.fromisoformat(options["before"])
        except ValueError:
            raise CommandError("日期格式应为 YYYY-MM-DD。") from None
        before = timezone.make_aware(datetime.combine(day, time.min))
        try:
            result = audit_purge(before=before, actor_label="系统 (cityops audit purge)")
        except PurgeRefused as exc:
            raise CommandError(str(exc)) from None
        if not result.purged:
            self.stdout.write(f"{day} 之前没有审计日志，无需清理（保留期 {retention_days()} 天）。")
            return
        self.stdout.write(self.style.SUCCESS(
            f"已清理 {result.purged} 条 {day} 之前的审计日志；检查点 ID {result.checkpoint.pk} 记录了最后一条被清理记录的哈希。"
        ))
