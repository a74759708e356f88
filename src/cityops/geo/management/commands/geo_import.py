from django.core.management.base import BaseCommand, CommandError

from cityops.geo.coords import CoordSystem
from cityops.geo.services import GeoImportError, import_layer


class Command(BaseCommand):
    help = "导入实测的街道、社区或单元网格图层 (GeoJSON)；任一要素有误则不写入任何数据"

    def add_arguments(self, parser):
        parser.add_argument("file", help="GeoJSON 文件 (FeatureCollection)")
        parser.add_argument(
            "--level",
            required=True,
            choices=["street", "community", "grid", "auto"],
            help="图层级别；auto 按编码位数判断 (9/12/14 位)",
        )
        parser.add_argument(
            "--coord-system",
            default=CoordSystem.WGS84,
            choices=[c.value for c in CoordSystem],
            help="输入坐标系 (默认 wgs84；高德/腾讯等地图坐标为 gcj02)",
        )

    def handle(self, *args, **options):
        try:
            result = import_layer(options["file"], options["level"], coord_system=options["coord_system"])
        except GeoImportError as exc:
            for message in exc.errors:
                self.stderr.write(message)
            raise CommandError(f"导入失败: {len(exc.errors)} 处错误，未写入任何数据") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"导入完成: 新增 {result.created}，更新 {result.updated}；"
                f"删除合成网格 {result.synthetic_grids_deleted}，清除合成边界 {result.synthetic_boundaries_cleared}"
            )
        )
