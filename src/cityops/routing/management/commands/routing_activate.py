"""`cityops routing activate VERSION` (or `--rollback`): switch the active model."""

from __future__ import annotations

from django.core.management.base import CommandError

from cityops.routing import registry
from cityops.routing.management.commands._base import RoutingCommand
from cityops.routing.models import RoutingModel


class Command(RoutingCommand):
    help = "启用指定版本的分拨模型；--rollback 回到上一个启用过的版本；--list 列出全部版本。"

    def add_arguments(self, parser) -> None:
        parser.add_argument("version", nargs="?", type=int)
        parser.add_argument("--rollback", action="store_true")
        parser.add_argument("--list", action="store_true")

    def handle(self, *args, **options) -> None:
        if options["list"]:
            for m in RoutingModel.objects.defer("artifact").order_by("-version"):
                f1 = (m.metrics or {}).get("macro_f1")
                self.stdout.write(f"{'*' if m.active else ' '} v{m.version:<4} {m.algorithm:<12} {m.training_size:>7} 条  "
                                  f"F1 {f1 if f1 is not None else '—'}  阈值 {m.threshold:.4f}  {m.created_at:%Y-%m-%d %H:%M}")
            return
        try:
            if options["rollback"]:
                model = registry.model_rollback()
            elif options["version"] is not None:
                model = registry.model_activate(options["version"])
            else:
                raise CommandError("请给出版本号，或使用 --rollback / --list。")
        except registry.ModelNotFound as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"当前启用模型：v{model.version}（{model.algorithm}，阈值 {model.threshold:.4f}）")
