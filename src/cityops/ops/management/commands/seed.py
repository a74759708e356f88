"""`cityops seed --cases N --days D`: realistic load (see cityops/ops/seed.py)."""

from django.core.management.base import BaseCommand, CommandError

from cityops.ops.seed import seed


class Command(BaseCommand):
    help = "生成逼真的案件负载（季节性、渠道与分类构成、网格分布、处置时长、退单、延期、超期、回访），用于容量测试"

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, required=True, help="案件数")
        parser.add_argument("--days", type=int, default=90, help="分布在最近多少天（默认 90）")
        parser.add_argument("--seed", type=int, default=20261126, help="随机种子")
        parser.add_argument("--chunk", type=int, default=100_000, help="每批案件数")
        parser.add_argument(
            "--indexes", choices=["auto", "keep", "rebuild"], default="auto",
            help="PostgreSQL：写入前删除二级索引、写完重建（auto：写入量不少于现有行数时）",
        )
        parser.add_argument("--no-rollups", action="store_true", help="写入后不修复统计汇总（analytics rollups）")

    def handle(self, *args, **options):
        if options["cases"] <= 0 or options["days"] <= 0:
            raise CommandError("--cases 和 --days 须为正数")
        try:
            result = seed(
                cases=options["cases"], days=options["days"], seed=options["seed"], chunk=options["chunk"],
                indexes=options["indexes"], progress=self.stdout.write,
            )
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        mix = "，".join(f"{k} {v:,}" for k, v in sorted(result.statuses.items(), key=lambda kv: -kv[1]))
        self.stdout.write(self.style.SUCCESS(
            f"写入 {result.cases:,} 件案件、{result.events:,} 条日志，用时 {result.seconds:.1f} 秒，"
            f"{result.cases_per_s:,.0f} 件/秒（生成 {result.generate_seconds:.1f} 秒，重建 {result.indexes_rebuilt} 个索引 {result.index_seconds:.1f} 秒）"
        ))
        self.stdout.write(f"状态分布：{mix}")
        if not options["no_rollups"]:
            # Seeded rows bypass the after-commit receivers: let the dashboards' rollups catch up.
            from cityops.analytics.services import rollup_repair

            self.stdout.write(f"统计汇总修复：{rollup_repair()}")
