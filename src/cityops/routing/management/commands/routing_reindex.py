"""`cityops routing reindex`: rebuild the duplicate-search index from the case table."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from cityops.routing.duplicates import reindex


class Command(BaseCommand):
    help = "重建重复件检索索引（批量导入绕过了案件服务时使用）。"

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"已索引 {reindex()} 件在办且有位置的案件。")
