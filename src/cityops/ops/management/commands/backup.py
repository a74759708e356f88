"""`cityops backup [--output PATH]` and `cityops backup --verify PATH` (logic in cityops.ops.backup)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cityops.ops.backup import BackupError, backup_create, backup_verify


class Command(BaseCommand):
    help = "备份数据库与上传文件到一个 tar.gz（含清单：每表行数与校验和、每个文件的 SHA-256）；--verify 校验备份文件"

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="备份文件路径（默认当前目录 cityops-backup-<时间>.tar.gz）")
        parser.add_argument("--verify", metavar="PATH", help="只校验这个备份文件的完整性，不做备份")

    def handle(self, *args, **options):
        try:
            if options["verify"]:
                report, manifest = backup_verify(Path(options["verify"]))
                if not report.ok:
                    raise CommandError("备份文件校验失败：\n" + "\n".join(f"  - {p}" for p in report.problems))
                self.stdout.write(self.style.SUCCESS(
                    f"备份文件完整：{report.checked_files} 个文件校验和一致；"
                    f"{len(manifest['tables'])} 张表，版本 {manifest.get('app_version')}，备份于 {manifest.get('created_at')}。"
                ))
                return
            result = backup_create(output=Path(options["output"]) if options["output"] else None,
                                   actor_label="系统 (cityops backup)")
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        m = result.manifest
        rows = sum(t["rows"] for t in m["tables"].values())
        media = sum(1 for name in m["files"] if name.startswith("media/"))
        self.stdout.write(self.style.SUCCESS(
            f"已备份到 {result.path}：{len(m['tables'])} 张表共 {rows} 行，{media} 个上传文件。"
        ))
