"""The downloadable import templates: a styled .xlsx (openpyxl) and a CSV with a UTF-8 BOM for Excel."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from cityops.cases.models import Channel
from cityops.catalog.models import CaseType, Category
from cityops.intake.columns import IMPORT_COLUMNS

DATA_SHEET = "案件"
TEMPLATE_ROWS = 10000  # rows that get the dropdowns

_CHOICES = {
    "channel": [str(label) for label in Channel.labels],
    "case_type": [str(label) for label in CaseType.labels],
    "urgency": ["一般", "紧急"],
    "coord_system": ["WGS84", "GCJ02"],
}
_FORMATS = {"external_id": "@", "reporter_phone": "@", "category": "@", "created_at": "yyyy-mm-dd hh:mm"}


def _leaf_categories() -> list[tuple[str, str, str, str]]:
    parents = set(Category.objects.exclude(parent=None).values_list("parent_id", flat=True))
    rows = []
    for category in Category.objects.filter(active=True).select_related("parent").order_by("system", "code"):
        if category.pk in parents:
            continue
        rows.append((category.code, category.name, category.parent.name if category.parent else "", category.get_system_display()))
    return rows


def template_xlsx() -> bytes:
    """案件 (header only, with dropdowns and formats), 说明 (what each column takes), 分类编码 (leaf codes)."""
    wb = Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    bold = Font(bold=True)
    required = Font(bold=True, color="C00000")
    fill = PatternFill("solid", fgColor="DCE6F2")
    for index, column in enumerate(IMPORT_COLUMNS, start=1):
        cell = ws.cell(row=1, column=index, value=column.header)
        cell.font = required if column.required else bold
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center")
        cell.comment = Comment(("必填。" if column.required else "") + column.help, "城运·一网统管")
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = column.width
        if column.key in _FORMATS:
            # A column style: Excel applies it to every cell typed into the column.
            ws.column_dimensions[letter].number_format = _FORMATS[column.key]
        if column.key in _CHOICES:
            validation = DataValidation(type="list", formula1='"' + ",".join(_CHOICES[column.key]) + '"', allow_blank=True)
            validation.error = "请从下拉列表中选择"
            validation.errorTitle = column.header
            validation.showErrorMessage = True
            ws.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
    ws.freeze_panes = "A2"

    notes = wb.create_sheet("说明")
    notes.append(["列名", "是否必填", "填写说明", "示例"])
    for cell in notes[1]:
        cell.font = bold
        cell.fill = fill
    for column in IMPORT_COLUMNS:
        notes.append([column.header, "必填" if column.required else "可空", column.help, column.example])
    notes.append([])
    for line in (
        "1. 在“案件”工作表第 2 行起每行填写一件案件，不要修改、删除或移动第 1 行表头，不要合并单元格，不要使用公式。",
        "2. 导入前会先校验全部数据：默认只要有一行有问题就全部不导入，并列出每个问题所在的行、列和原因；也可选择跳过有问题的行。",
        "3. 经纬度默认按 WGS84（GPS）理解；从高德、腾讯地图取的坐标请在“坐标系”填 GCJ02。位置必须在本辖区内。",
        "4. 上报时间请使用日期单元格，或写成 2026-11-26 09:30；不填则为导入时间。",
        "5. 也可以导入 CSV 文件：第一行为同样的表头，编码请用 UTF-8（Excel“另存为 CSV UTF-8”）。",
        "6. 从本系统导出的 Excel/CSV 可直接再导入：案件编号、状态等只读列会被忽略。",
    ):
        notes.append([line])
    for letter, width in zip("ABCD", (12, 10, 80, 24), strict=True):
        notes.column_dimensions[letter].width = width

    codes = wb.create_sheet("分类编码")
    codes.append(["分类编码", "名称", "所属大类", "体系"])
    for cell in codes[1]:
        cell.font = bold
        cell.fill = fill
    for row in _leaf_categories():
        codes.append(list(row))
    for letter, width in zip("ABCD", (12, 24, 20, 22), strict=True):
        codes.column_dimensions[letter].width = width

    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def template_csv() -> bytes:
    """The header line, UTF-8 with a BOM so that Excel opens the Chinese headers correctly."""
    return ("\ufeff" + ",".join(column.header for column in IMPORT_COLUMNS) + "\r\n").encode("utf-8")
