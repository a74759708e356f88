"""Spreadsheets for the import/export tests, written with openpyxl (an independent writer)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from openpyxl import Workbook

from cityops.intake.columns import IMPORT_COLUMNS

HEADERS = [c.header for c in IMPORT_COLUMNS]
WHEN = datetime(2026, 11, 20, 9, 30)  # noqa: DTZ001  (a spreadsheet cell: wall-clock time; a Friday, office hours)


def good_row(**overrides: Any) -> dict[str, Any]:
    """A valid row inside the test district's west grid (see conftest.geo), keyed by header."""
    row = {
        "外部编号": "", "来源渠道": "热线电话", "工单类型": "投诉", "分类编码": "E9901", "紧急程度": "", "标题": "",
        "问题描述": "小区门口垃圾成堆，无人清理", "地址": "东关大街 1 号", "经度": 101.805, "纬度": 36.61, "坐标系": "WGS84",
        "反映人": "张三", "联系电话": "13812341234", "上报时间": WHEN,
    }
    row.update(overrides)
    return row


def xlsx_bytes(rows: list[dict[str, Any]], headers: list[str] | None = None, *, edit=None, sheet: str = "案件") -> bytes:
    """An .xlsx with shared strings (as Excel writes them); `edit(ws)` may change the sheet before saving."""
    headers = headers or HEADERS
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(headers)
    for row in rows:
        ws.append([row.get(h) for h in headers])
    for row_cells in ws.iter_rows(min_row=2):
        for cell in row_cells:
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
    if edit:
        edit(ws)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[dict[str, Any]], headers: list[str] | None = None, *, encoding: str = "utf-8-sig") -> bytes:
    headers = headers or HEADERS
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if row.get(h) is None else (row[h].strftime("%Y-%m-%d %H:%M") if isinstance(row.get(h), datetime) else row[h]) for h in headers])
    return buffer.getvalue().encode(encoding)
