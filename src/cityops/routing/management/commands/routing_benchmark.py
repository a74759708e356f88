"""`cityops routing benchmark --train TRAIN.csv [--test TEST.csv] [--json]`.

With --test: trains on TRAIN only (threshold by cross-validation on TRAIN), removes TEST rows that
are near-duplicates of training rows, scores TEST. Without --test: nested grouped k-fold
cross-validation on TRAIN. With --json the last line is one JSON object.
"""

from __future__ import annotations

import json

from django.core.management.base import CommandError

from cityops.routing.benchmark import compare_algorithms, run_cv, run_holdout
from cityops.routing.management.commands._base import RoutingCommand
from cityops.routing.pipeline import ALGORITHMS
from cityops.routing.training import TrainingDataError, check_trainable

JSON_KEYS = ("accuracy", "macro_f1", "top3", "coverage", "auto_precision", "p50_ms", "p99_ms")


class Command(RoutingCommand):
    help = "分拨模型基准测试：在 TRAIN 上训练（阈值由 TRAIN 交叉验证选定），在 TEST 上评估；无 --test 时做嵌套交叉验证。"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--train", required=True)
        parser.add_argument("--test")
        parser.add_argument("--json", action="store_true", help="最后一行输出一个 JSON 对象")
        parser.add_argument("--no-dedup", action="store_true", help="不去除测试集中与训练集近似重复的行")
        parser.add_argument("--inner-folds", type=int, default=3, help="无 --test 时每个外层折内选阈值的折数")
        parser.add_argument("--raw", help="无 --test 时：同一批留言的原始文本 CSV，用各折模型评估其中对应留出样本的行")
        parser.add_argument("--compare", nargs="*", metavar="ALGORITHM",
                            help=f"对比多个算法（同一组交叉验证折），可选：{', '.join(ALGORITHMS)}；不带值表示全部")
        self.add_training_arguments(parser)

    def handle(self, *args, **options) -> None:
        quiet = options["json"]
        say = (lambda _m: None) if quiet else self.say
        target = options["target_precision"] if options["target_precision"] is not None else 0.98
        if not 0.5 <= target < 1:
            raise CommandError("--target-precision 须在 0.5 与 1 之间。")
        train_data = self.read(options["train"], strict_labels=False)
        try:
            check_trainable(train_data)
            if options["compare"] is not None:
                names = options["compare"] or list(ALGORITHMS)
                rows = compare_algorithms(train_data, names, folds=options["folds"], target_precision=target, progress=say)
                result = {"mode": "compare", "rows": rows}
            elif options["test"]:
                test_data = self.read(options["test"], strict_labels=False)
                if not len(test_data):
                    raise CommandError("测试集为空。")
                result = run_holdout(train_data, test_data, algorithm=options["algorithm"], target_precision=target,
                                     folds=options["folds"], dedup=not options["no_dedup"], progress=say)
            else:
                raw = self.read(options["raw"], strict_labels=False) if options.get("raw") else None
                result = run_cv(train_data, algorithm=options["algorithm"], target_precision=target, folds=options["folds"],
                                inner_folds=options["inner_folds"], raw=raw, progress=say)
        except TrainingDataError as exc:
            raise CommandError(str(exc)) from None
        if result["mode"] != "compare" and not quiet:
            self.print_metrics(f"结果（{result['mode']}，算法 {result['algorithm']}）：", result)
            self.stdout.write(f"  训练用时 {result.get('training_seconds')} 秒  单条预测延迟 p50 {result.get('p50_ms')} ms  p99 {result.get('p99_ms')} ms")
        if quiet or result["mode"] == "compare":
            summary = {k: result.get(k) for k in JSON_KEYS} if result["mode"] != "compare" else {}
            self.stdout.write(json.dumps({**result, **summary}, ensure_ascii=False))
