"""`cityops routing train --csv FILE [--activate]`: train a new model version from a CSV."""

from __future__ import annotations

from django.core.management.base import CommandError

from cityops.routing import registry
from cityops.routing.management.commands._base import RoutingCommand
from cityops.routing.training import TrainingDataError, train


class Command(RoutingCommand):
    help = "用 CSV（列 text,label[,id]；标签为 12345 一级分类名称或编码）训练新版本分拨模型；--activate 时立即启用。"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--csv", required=True, help="训练数据 CSV")
        parser.add_argument("--activate", action="store_true", help="训练后立即启用")
        parser.add_argument("--note", default="", help="备注")
        self.add_training_arguments(parser)

    def handle(self, *args, **options) -> None:
        data = self.read(options["csv"], strict_labels=True)
        self.say(f"读取 {len(data)} 条：{data.class_counts()}")
        try:
            result = train(data, algorithm=options["algorithm"], target_precision=self.target_precision(options),
                           n_folds=options["folds"], progress=self.say)
        except TrainingDataError as exc:
            raise CommandError(str(exc)) from None
        model = registry.model_save(result, source=data.source, activate=options["activate"], note=options["note"])
        self.print_metrics(f"模型 v{model.version}（交叉验证，训练用时 {result.metrics['training_seconds']} 秒）：", result.metrics)
        self.say(f"已启用 v{model.version}。" if model.active else f"已保存 v{model.version}（未启用；启用：cityops routing activate {model.version}）。")
