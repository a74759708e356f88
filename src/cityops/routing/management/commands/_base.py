"""Shared arguments and output of the routing commands."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from cityops.routing.labels import hotline_label_map
from cityops.routing.models import RoutingModel, RoutingSettings
from cityops.routing.pipeline import ALGORITHMS, DEFAULT_ALGORITHM
from cityops.routing.training import Dataset, TrainingDataError, read_csv


class RoutingCommand(BaseCommand):
    def add_training_arguments(self, parser) -> None:
        parser.add_argument("--algorithm", default=DEFAULT_ALGORITHM, choices=sorted(ALGORITHMS), help="分类器（默认 %(default)s）")
        parser.add_argument("--folds", type=int, default=5, help="选阈值的交叉验证折数（默认 5）")
        parser.add_argument("--target-precision", type=float, default=None,
                            help="自动派遣目标准确率（默认取智能分拨设置，出厂 0.98）")

    def target_precision(self, options) -> float:
        value = options.get("target_precision")
        if value is None:
            value = RoutingSettings.load().target_precision
        if not 0.5 <= value < 1:
            raise CommandError("--target-precision 须在 0.5 与 1 之间（如 0.98）。")
        return float(value)

    def read(self, path: str, *, strict_labels: bool) -> Dataset:
        mapping = hotline_label_map()
        try:
            data = read_csv(path, label_map=mapping)
        except TrainingDataError as exc:
            raise CommandError(str(exc)) from None
        if strict_labels:
            known = set(mapping.values())
            unknown = sorted({label for label in data.labels if label not in known})
            if unknown:
                raise CommandError(
                    "以下标签无法对应到 12345 分类（一级分类名称或编码）：" + "、".join(unknown[:10])
                    + "。请先加载分类（cityops catalog load）或修正 CSV。"
                )
        if data.skipped:
            self.stdout.write(f"跳过 {sum(data.skipped.values())} 行：{data.skipped}")
        return data

    def say(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()

    def print_metrics(self, title: str, metrics: dict) -> None:
        self.stdout.write(title)
        pct = lambda v: f"{v:.2%}" if isinstance(v, int | float) else "—"  # noqa: E731
        self.stdout.write(f"  样本 {metrics.get('n', '—')}  准确率 {pct(metrics.get('accuracy'))}  宏平均F1 {pct(metrics.get('macro_f1'))}  "
                          f"Top-3 {pct(metrics.get('top3'))}")
        self.stdout.write(f"  阈值 {metrics.get('threshold', '—')}  自动派遣覆盖率 {pct(metrics.get('coverage'))}  "
                          f"自动派遣准确率 {pct(metrics.get('auto_precision'))}")
        per_class = metrics.get("per_class_f1") or {}
        if per_class:
            self.stdout.write("  各类 F1：" + "  ".join(f"{k} {v:.3f}" for k, v in per_class.items()))

    def active(self) -> RoutingModel | None:
        return RoutingModel.objects.filter(active=True).defer("artifact").first()
