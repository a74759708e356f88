"""`cityops demo` step: demo rows of the three mapping tables (city categories, addresses, alarm types)."""

from django.core.management.base import BaseCommand

from cityops.intake.mapping import demo_mappings_ensure


class Command(BaseCommand):
    help = "加载演示用接入映射：市平台分类、地址关键字、报警类型（已存在的不覆盖）"

    def handle(self, *args, **options):
        added = demo_mappings_ensure()
        self.stdout.write(
            f"接入映射：新增市平台分类 {added['city_categories']} 条、报警类型 {added['alarm_types']} 条、地址 {added['addresses']} 条"
        )
