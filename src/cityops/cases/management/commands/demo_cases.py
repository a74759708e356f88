from django.core.management.base import BaseCommand

from cityops.cases.demo import demo_cases_ensure


class Command(BaseCommand):
    help = "生成演示案件（已存在则跳过）"

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=60)

    def handle(self, *args, **options):
        made = demo_cases_ensure(count=options["count"])
        self.stdout.write(f"演示案件：新建 {made} 件" if made else "演示案件已存在，跳过")
