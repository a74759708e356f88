"""`cityops restore PATH [--database-url URL] [--media-root DIR] [--force]` (logic in cityops.ops.backup)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cityops.ops.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = "从备份恢复数据库与上传文件，并按清单核对每表行数、校验和与文件哈希；目标非空时须加 --force"

    def add_arguments(self, parser):
        parser.add_argument("path", help="cityops backup 生成的 tar.gz")
        parser.add_argument("--database-url", help="恢复到这个数据库（默认 DATABASE_URL）")
        parser.add_argument("--media-root", help="恢复上传文件到这个目录（默认 MEDIA_ROOT）")
        parser.add_argument("--force", action="store_true", help="目标数据库或目录已有数据时清空后恢复")

    def handle(self, *args, **options):
        try:
            report = backup_restore(
                Path(options["path"]), database_url=options["database_url"],
                media_root=Path(options["media_root"]) if options["media_root"] else None, force=options["force"],
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        if not report.ok:
            raise CommandError("恢复后核对不一致：\n" + "\n".join(f"  - {p}" for p in report.problems))
        self.stdout.write(self.style.SUCCESS(
            f"恢复完成并已核对：{report.checked_tables} 张表的行数与校验和、{report.checked_files} 个上传文件均与备份一致。"
        ))
