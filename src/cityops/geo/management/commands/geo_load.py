from django.core.management.base import BaseCommand, CommandError

from cityops.geo.services import GeoDataError, load_reference_regions


class Command(BaseCommand):
    help = "加载本辖区的区划参考数据 (区、街道/镇、社区/村) 和辖区边界，可重复执行"

    def add_arguments(self, parser):
        parser.add_argument("--district", help="辖区代码，默认取 CITYOPS_DISTRICT_CODE")

    def handle(self, *args, **options):
        try:
            result = load_reference_regions(options["district"])
        except GeoDataError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"区划数据已加载: 新增 {result.created}，更新 {result.updated}"))
