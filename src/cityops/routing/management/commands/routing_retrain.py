"""`cityops routing retrain [--csv FILE] [--activate]`: retrain from the case history (or a CSV)
and compare with the active model."""

from __future__ import annotations

from django.core.management.base import CommandError

from cityops.routing import registry
from cityops.routing.history import history_dataset
from cityops.routing.management.commands._base import RoutingCommand
from cityops.routing.training import TrainingDataError, train


class Command(RoutingCommand):
    help = "用案件历史（误派退单与改派作为纠正后的标签）或 CSV 重新训练，报告新模型与当前模型的指标；仅在 --activate 时启用。"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--csv", help="改用 CSV 训练（列 text,label）")
        parser.add_argument("--activate", action="store_true", help="训练后启用新模型")
        self.add_training_arguments(parser)

    def handle(self, *args, **options) -> None:
        if options.get("csv"):
            data = self.read(options["csv"], strict_labels=True)
        else:
            data, report = history_dataset()
            self.say(f"案件历史：可用 {report.used} 件（其中按改派纠正标签 {report.corrected} 件）；未用：误派未改派 {report.left_out_unresolved}、"
                     f"改派部门对应多个分类 {report.left_out_ambiguous}、非 12345 分类 {report.left_out_uncovered}。")
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
            cov = (result.metrics.get("coverage") or 0) - ((active.metrics or {}).get("coverage") or 0)
            self.say(f"宏平均F1 {delta:+.2%}，自动派遣覆盖率 {cov:+.2%}（两者训练数据不同，仅供参考）。")
        else:
            self.say("当前没有启用的模型。")
        self.say(f"已启用 v{model.version}。" if model.active else f"未启用 v{model.version}；确认后运行：cityops routing activate {model.version}")
