"""`cityops routing retrain [--if-due] [--activate|--no-activate]`: retrain the leaf model from the
case history through `services.retrain_if_due` (the daily job's own function), or
`--csv FILE` to train a model of 一级 classes from a CSV and compare it with the active one."""

from __future__ import annotations

from django.core.management.base import CommandError

from cityops.routing import registry
from cityops.routing.management.commands._base import RoutingCommand
from cityops.routing.services import retrain_if_due
from cityops.routing.training import TrainingDataError, train


class Command(RoutingCommand):
    help = ("用派遣历史（小类；立案时改正的分类、误派改派后的分类均作为标签）重新训练分拨模型，与每日任务相同；"
            "--if-due 仅在到期时训练；--csv 改用 CSV 训练一级分类模型。")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--csv", help="改用 CSV 训练（列 text,label，一级分类）")
        parser.add_argument("--if-due", action="store_true", help="按每日任务的规则，仅在到期时训练（间隔与新增标签数见 README）")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--activate", action="store_true", help="训练后启用新模型")
        group.add_argument("--no-activate", action="store_true", help="训练后不启用（默认按每日任务的规则决定）")
        self.add_training_arguments(parser)

    def handle(self, *args, **options) -> None:
        if options.get("csv"):
            self.from_csv(options)
            return
        activate = True if options["activate"] else False if options["no_activate"] else None
        result = retrain_if_due(force=not options["if_due"], activate=activate, progress=self.say)
        self.say(f"自上次训练：新增派遣 {result['new_labels']} 件，立案 {result['registered']} 件，其中改正模型建议 {result['corrections']} 件。")
        if not result.get("retrained"):
            if options["if_due"]:
                self.say(f"未到期，未训练：{result.get('reason', '')}")
                return
            raise CommandError(result.get("reason") or "未能训练。")
        self.say(f"新模型 v{result['version']}（{result['training_size']} 条，交叉验证准确率 {result['accuracy']:.2%}，"
                 f"阈值 {result['threshold']:.4f}）：{result['verdict']}")

    def from_csv(self, options) -> None:
        data = self.read(options["csv"], strict_labels=True)
        try:
            result = train(data, algorithm=options["algorithm"], target_precision=self.target_precision(options),
                           n_folds=options["folds"], progress=self.say)
        except TrainingDataError as exc:
            raise CommandError(str(exc)) from None
        active = self.active()
        model = registry.model_save(result, source=data.source, activate=options["activate"], note="retrain")
        self.print_metrics(f"新模型 v{model.version}（{len(data)} 条，交叉验证）：", result.metrics)
        if active is not None:
            self.print_metrics(f"当前启用 v{active.version}（{active.training_size} 条，训练时的交叉验证）：", active.metrics)
            delta = (result.metrics.get("macro_f1") or 0) - ((active.metrics or {}).get("macro_f1") or 0)
            self.say(f"宏平均F1 {delta:+.2%}（两者训练数据不同，仅供参考）。")
        self.say(f"已启用 v{model.version}。" if model.active else f"未启用 v{model.version}；确认后运行：cityops routing activate {model.version}")
