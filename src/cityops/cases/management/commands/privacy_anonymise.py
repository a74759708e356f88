"""`cityops privacy anonymise [--dry-run] [--months N]`: the personal-data retention job, by hand."""

from django.core.management.base import BaseCommand, CommandError

from cityops.cases.privacy import personal_data_anonymise, retention_months


class Command(BaseCommand):
    help = "匿名化结案超过 PERSONAL_DATA_RETENTION_MONTHS 个月的案件的反映人个人信息（保留分类、位置、时间用于统计）"

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="只统计将要处理的记录数，不做修改")
        parser.add_argument("--months", type=int, help=f"保留月数（默认取设置，当前 {retention_months()}）")

    def handle(self, *args, **options):
        months = options["months"]
        if months is not None and months < 1:
            raise CommandError("--months 至少为 1（关闭此任务请把 PERSONAL_DATA_RETENTION_MONTHS 设为 0）。")
        result = personal_data_anonymise(months=months, dry_run=options["dry_run"])
        if result.cutoff is None:
            self.stdout.write("PERSONAL_DATA_RETENTION_MONTHS 为 0：个人信息匿名化已关闭。")
            return
        verb = "将匿名化" if result.dry_run else "已匿名化"
        self.stdout.write(self.style.SUCCESS(
            f"{verb}：{result.cases} 件案件、{result.events} 条办理记录、{result.intake_records} 条接入原始数据"
            f"（{result.cutoff:%Y-%m-%d} 之前结案，保留期 {result.months} 个月）。"
        ))
