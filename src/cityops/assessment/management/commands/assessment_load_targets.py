"""`cityops assessment_load_targets [--file PATH]`: load the center's 绩效目标 from the product's
data file and make sure every evaluated kind has a weight scheme (idempotent)."""

from django.core.management.base import BaseCommand, CommandError

from cityops.assessment.scoring import schemes_ensure
from cityops.assessment.targets import DEFAULT_FILE, TargetDataError, targets_load


class Command(BaseCommand):
    help = "加载中心年度绩效目标（产品内置数据文件）并补齐考核权重方案（可重复执行）"

    def add_arguments(self, parser):
        parser.add_argument("--file", default=str(DEFAULT_FILE), help="绩效目标数据文件 (JSON)")

    def handle(self, *args, **options):
        try:
            result = targets_load(options["file"])
        except TargetDataError as exc:
            raise CommandError(str(exc)) from None
        schemes = schemes_ensure()
        self.stdout.write(
            f"{result.year} 年度绩效目标：新建 {result.created} 项，更新 {result.updated} 项，停用 {result.deactivated} 项；"
            f"新建考核权重方案 {schemes} 个"
        )
