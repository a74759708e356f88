"""`cityops demo_cases` (a step of `cityops demo`): the demo cases walked through the workflow,
the synthetic 90-day history beside them (bulk inserts, `desks/demo_history.py`) and the first
routing model trained on that history (`routing.services.demo_model_ensure`). Each part is
skipped when it exists."""

import time

from django.core.management.base import BaseCommand

from cityops.desks.demo import demo_cases_ensure
from cityops.desks.demo_history import DEFAULT_DAYS, DEFAULT_PER_DAY, demo_history_ensure


class Command(BaseCommand):
    help = "生成演示案件、近 90 天的合成历史案件，并用历史训练第一个分拨模型（已存在则跳过）"

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=60)
        parser.add_argument("--history-days", type=int, default=DEFAULT_DAYS, help="合成历史的天数（0 = 不生成）")
        parser.add_argument("--per-day", type=int, default=DEFAULT_PER_DAY, help="平均每天派遣的案件数")
        parser.add_argument("--no-model", action="store_true", help="不训练分拨模型")

    def handle(self, *args, **options):
        made = demo_cases_ensure(count=options["count"])
        self.stdout.write(f"演示案件：新建 {made} 件" if made else "演示案件已存在，跳过")
        if options["history_days"] > 0:
            history = demo_history_ensure(days=options["history_days"], per_day=options["per_day"])
            if history.skipped:
                self.stdout.write(f"历史案件（合成）：跳过（{history.skipped}）")
            else:
                self.stdout.write(f"历史案件（合成，近 {options['history_days']} 天）：{history.cases} 件，"
                                  f"日志 {history.events} 条（{history.seconds} 秒）")
        if not options["no_model"]:
            from cityops.routing.services import demo_model_ensure

            started = time.perf_counter()
            model = demo_model_ensure()
            if model is not None:
                metrics = model.metrics or {}
                self.stdout.write(f"分拨模型 v{model.version}（小类 {len(model.classes)} 个，{model.training_size} 条历史，"
                                  f"交叉验证准确率 {metrics.get('accuracy', 0):.1%}，{time.perf_counter() - started:.1f} 秒）已启用")
