"""`cityops catalog load`: load the shipped reference data (categories, departments, 权责清单, calendar)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cityops.catalog.services import ReferenceDataError, load_reference_data


class Command(BaseCommand):
    help = "加载分类与处置时限、部门、权责清单和节假日调整（可重复运行；须先加载行政区划）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data-dir", type=Path, default=None, help="数据文件目录（默认为随版本发布的 catalog/data）")

    def handle(self, *args: Any, data_dir: Path | None = None, **options: Any) -> None:
        try:
            report = load_reference_data(data_dir)
        except ReferenceDataError as exc:
            raise CommandError(f"基础数据未加载（未写入任何内容）：{exc}") from exc
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS("基础数据加载完成"))
