from django.core.management.base import BaseCommand, CommandError

from cityops.geo.services import GeoDataError, generate_demo_partition
from cityops.geo.synthetic import DEFAULT_SEED


class Command(BaseCommand):
    help = "生成演示用的合成街道、社区边界和单元网格 (标记为合成数据，不覆盖实测数据)，可重复执行"

    def add_arguments(self, parser):
        parser.add_argument(
            "--street",
            action="append",
            dest="streets",
            metavar="CODE",
            help="只处理指定的街道/镇 (9 位代码)，可重复",
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="随机种子 (默认固定，结果可复现)")

    def handle(self, *args, **options):
        try:
            result = generate_demo_partition(seed=options["seed"], street_codes=options["streets"])
        except GeoDataError as exc:
            raise CommandError(str(exc)) from exc
        for note in result.skipped:
            self.stdout.write(self.style.WARNING(note))
        self.stdout.write(
            self.style.SUCCESS(
                f"合成分区完成 ({result.seconds:.1f} 秒): 街道 {result.streets}，社区 {result.communities}，"
                f"网格 {result.grids} (新增 {result.grids_created}，更新 {result.grids_updated}，"
                f"未变 {result.grids_unchanged}，删除 {result.grids_deleted})"
            )
        )
