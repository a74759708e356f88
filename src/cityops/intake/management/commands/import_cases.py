"""`cityops import cases FILE.xlsx|FILE.csv`: bulk import of cases from the command line."""

from __future__ import annotations

import csv
import getpass
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cityops.intake.import_template import template_csv, template_xlsx
from cityops.intake.imports import cases_import


class _Bars:
    """One tqdm bar per phase (读取校验 → 定位 → 写入), on stderr."""

    LABELS = {"validate": "读取并校验", "locate": "定位", "write": "写入", "refresh": "更新统计与查重索引"}

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None
        self.phase = None

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if phase != self.phase:
            self.close()
            self.phase = phase
            self.bar = tqdm(total=total, desc=self.LABELS.get(phase, phase), unit="行", dynamic_ncols=True, leave=True)
        if total is not None and self.bar.total != total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Command(BaseCommand):
    help = "从 Excel (.xlsx) 或 CSV 文件批量导入案件：先校验全部数据，默认有任何错误就全部不导入"

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="要导入的 .xlsx 或 .csv 文件")
        parser.add_argument("--skip-invalid", action="store_true", help="跳过有问题的行，只导入正确的行")
        parser.add_argument("--dry-run", action="store_true", help="只校验，不写入")
        parser.add_argument("--user", help="以该用户名的身份导入（记为录入人）")
        parser.add_argument("--errors", metavar="OUT.csv", help="把全部错误写入该 CSV 文件")
        parser.add_argument("--show", type=int, default=20, help="屏幕上显示的错误条数（默认 20）")
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")
        parser.add_argument("--template", metavar="OUT.xlsx|OUT.csv", help="生成导入模板后退出")
        parser.add_argument("--no-refresh", action="store_true",
                            help="不立即更新统计汇总和查重索引（连续导入多个文件时，最后执行 cityops rollup_rebuild 与 cityops routing reindex）")

    def handle(self, *args, **options):
        if options["template"]:
            target = Path(options["template"])
            target.write_bytes(template_csv() if target.suffix.lower() == ".csv" else template_xlsx())
            self.stdout.write(self.style.SUCCESS(f"导入模板已写入 {target}"))
            return
        if not options["file"]:
            raise CommandError("请指定要导入的文件：cityops import cases FILE.xlsx")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        actor = None
        if options["user"]:
            from cityops.accounts.models import User

            actor = User.objects.filter(username=options["user"], is_active=True).first()
            if actor is None:
                raise CommandError(f"用户不存在或已停用：{options['user']}")
        bars = _Bars(enabled=not options["no_progress"])
        try:
            result = cases_import(
                source=path, filename=path.name, actor=actor, actor_label="" if actor else f"命令行 ({getpass.getuser()})",
                skip_invalid=options["skip_invalid"], dry_run=options["dry_run"], progress=bars, refresh=False,
            )
        finally:
            bars.close()

        for error in result.errors[: options["show"]]:
            where = f"第 {error.row} 行" if error.row else "文件"
            column = f" {error.column}列" if error.column else ""
            header = f"「{error.header}」" if error.header else ""
            value = f" 内容“{error.value}”" if error.value else ""
            self.stdout.write(f"  {where}{column}{header}{value}：{error.message}")
        if result.errors_total > options["show"]:
            self.stdout.write(f"  …… 共 {result.errors_total} 处错误" + ("，全部错误见 " + options["errors"] if options["errors"] else "，用 --errors OUT.csv 导出全部"))
        if options["errors"] and result.errors:
            with open(options["errors"], "w", encoding="utf-8-sig", newline="") as fh:
                writer = csv.writer(fh)
                writer.writerow(["行号", "列", "列名", "单元格内容", "问题", "错误代码"])
                for e in result.errors:
                    writer.writerow([e.row or "", e.column, e.header, e.value, e.message, e.code])
        timing = "，".join(f"{k} {v:.1f} 秒" for k, v in result.timings.items())
        self.stdout.write(f"数据行 {result.rows_total}，新增 {result.created}，跳过 {result.skipped}，错误 {result.errors_total}；用时 {result.seconds:.1f} 秒（{timing}）")
        if result.first_number:
            self.stdout.write(f"案件编号 {result.first_number} … {result.last_number}")
        if result.status in ("rejected", "failed"):
            raise CommandError(result.message)
        self.stdout.write(self.style.SUCCESS(result.message))
        if result.case_ids and not options["no_refresh"]:
            self.stdout.write("正在更新统计汇总和查重索引……")
            result.refresh()
            refreshed = "，".join(f"{k} {v:.1f} 秒" for k, v in result.timings.items() if k not in ("validate", "write"))
            self.stdout.write(f"已更新（{refreshed}）")
