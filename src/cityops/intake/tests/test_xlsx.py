"""The streaming XLSX reader and writer, checked against openpyxl."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from cityops.intake.xlsx import (
    CellError,
    Formula,
    XlsxError,
    XlsxSheet,
    column_index,
    column_letter,
    open_xlsx,
    stream_xlsx,
)

# No database use, but the intake conftest's autouse fixture resets the geo index through it.
pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 11, 20, 9, 30, 15)  # noqa: DTZ001  (spreadsheet wall-clock time)


def _workbook_bytes() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "案件"
    ws.append(["文本", "数字", "日期", "逻辑", "公式", "错误"])
    ws.append(["小区 & <门口>", 13812341234, WHEN, True, "=B2*2", "#REF!"])
    ws.append(["第二行\n换行", 101.805, None, False, None, None])
    ws["A4"] = CellRichText([TextBlock(InlineFont(b=True), "加粗"), "普通"])
    ws["F4"] = "  前后空格  "
    ws["AB5"] = "远处的列"
    ws["C6"].number_format = "yyyy-mm-dd"  # a styled empty cell
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _rows(sheet: XlsxSheet, *, full: bool = False) -> list:
    return list(sheet._rows_expat() if full else sheet.rows())


def test_reader_gives_typed_values_and_the_same_rows_on_both_paths():
    data = _workbook_bytes()
    fast = _rows(open_xlsx(io.BytesIO(data)))
    full = _rows(open_xlsx(io.BytesIO(data)), full=True)
    assert fast == full
    rows = dict(fast)
    assert rows[1] == ["文本", "数字", "日期", "逻辑", "公式", "错误"]
    assert rows[2] == ["小区 & <门口>", 13812341234, WHEN, True, Formula("=B2*2"), CellError("#REF!")]
    assert rows[3] == ["第二行\n换行", 101.805, None, False]
    assert rows[4][0] == "加粗普通" and rows[4][5] == "  前后空格  "
    assert rows[5][column_index("AB")] == "远处的列" and len(rows[5]) == 28
    assert 6 not in rows  # only a styled empty cell


def test_merged_ranges_are_reported():
    wb = Workbook()
    wb.active.append(["a", "b"])
    wb.active.merge_cells("A2:B3")
    buffer = io.BytesIO()
    wb.save(buffer)
    sheet = open_xlsx(io.BytesIO(buffer.getvalue()))
    _rows(sheet)
    assert sheet.merged == ["A2:B3"]


def _handmade(sheet_xml: str, shared: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("xl/workbook.xml", '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                   'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                   '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="x" Target="worksheets/sheet1.xml"/></Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if shared:
            z.writestr("xl/sharedStrings.xml", shared)
    return buffer.getvalue()


def test_prefixed_namespaces_and_cells_without_references_take_the_full_parser():
    prefixed = _handmade(
        '<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
        '<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1"><x:v>2.5</x:v></x:c></x:row>'
        '</x:sheetData><x:mergeCells><x:mergeCell ref="A3:A4"/></x:mergeCells></x:worksheet>',
        '<x:sst xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:si><x:t>问题_x000D_描述</x:t></x:si></x:sst>',
    )
    sheet = open_xlsx(io.BytesIO(prefixed))
    assert _rows(sheet) == [(1, ["问题\r描述", 2.5])]
    assert sheet.merged == ["A3:A4"]
    positional = _handmade(
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row><c t="inlineStr"><is><t>甲</t></is></c><c><v>1</v></c></row><row><c t="inlineStr"><is><t>乙</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    assert _rows(open_xlsx(io.BytesIO(positional))) == [(1, ["甲", 1]), (2, ["乙"])]


def test_rich_text_shared_strings_skip_phonetic_runs():
    data = _handmade(
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row></sheetData></worksheet>',
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><r><t>东</t></r><r><rPr><b/></rPr><t>关</t></r>'
        '<rPh sb="0" eb="1"><t>ひがし</t></rPh></si><si><t xml:space="preserve"> a &amp; b </t></si></sst>',
    )
    assert _rows(open_xlsx(io.BytesIO(data))) == [(1, ["东关", " a & b "])]


@pytest.mark.parametrize("data", [b"not a zip", b"PK\x03\x04garbage"])
def test_not_a_workbook(data):
    with pytest.raises(XlsxError):
        open_xlsx(io.BytesIO(data))


def test_writer_output_reads_back_in_openpyxl_and_in_the_reader():
    rows = [["CD1", 101.805, WHEN, True, None, "=not a formula", "控制\x01字符"], ["CD2", 7, WHEN.date(), False, "x", "", "&<>\"'"]]
    data = b"".join(stream_xlsx(["编号", "经度", "时间", "逻辑", "空", "文本", "特殊"], rows, sheet_name="案件", widths=[10] * 7))
    ws = load_workbook(io.BytesIO(data))["案件"]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0] == ["编号", "经度", "时间", "逻辑", "空", "文本", "特殊"]
    assert values[1] == ["CD1", 101.805, WHEN, True, None, "=not a formula", "控制_x0001_字符"]
    assert values[2][:4] == ["CD2", 7, datetime(2026, 11, 20), False] and values[2][6] == "&<>\"'"  # noqa: DTZ001
    assert ws.freeze_panes == "A2"
    mine = dict(_rows(open_xlsx(io.BytesIO(data))))
    assert mine[2] == ["CD1", 101.805, WHEN, True, None, "=not a formula", "控制\x01字符"]


def test_writer_streams_while_rows_are_produced():
    produced = []

    def rows():
        for i in range(5000):
            produced.append(i)
            yield [f"CD{i:05d}", "问题描述" * 20, i]

    stream = stream_xlsx(["编号", "描述", "序号"], rows(), rows_per_chunk=500)
    next(stream)  # the package parts before the sheet
    while len(produced) < 600:
        assert next(stream)
    assert len(produced) < 5000  # bytes leave before the last row is read
    data = b"".join(stream)
    assert data and len(produced) == 5000


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]
    assert [column_index(s) for s in ("A", "Z", "AA", "ZZ", "AAA")] == [0, 25, 26, 701, 702]
