from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cityops.geo.reference import DATA_DIR, write_reference_files


class Command(BaseCommand):
    help = "(开发用) 由原始资料生成随产品发布的参考数据文件: 辖区边界 (GCJ-02 → WGS-84) 和区划清单"

    def add_arguments(self, parser):
        parser.add_argument("--source", required=True, help="原始资料目录 (含 <代码>_*.geojson 和区划 CSV)")
        parser.add_argument("--district", default=settings.CITYOPS_DISTRICT_CODE)
        parser.add_argument("--out", default=str(DATA_DIR), help="输出目录，默认为 geo/data")

    def handle(self, *args, **options):
        try:
            paths = write_reference_files(Path(options["source"]), options["district"], Path(options["out"]))
        except (OSError, StopIteration, KeyError, ValueError) as exc:
            raise CommandError(f"生成失败: {exc}") from exc
        for path in paths:
            self.stdout.write(self.style.SUCCESS(f"已写入 {path}"))
