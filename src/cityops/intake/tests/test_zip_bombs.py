"""Spreadsheet imports refuse zip bombs before reading a member: an .xlsx whose members unpack
to more than CITYOPS_MAX_XLSX_UNCOMPRESSED_MB, compress implausibly well, are too many, or
whose header claims gigabytes."""

import io
import struct
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.models import Case
from cityops.intake import xlsx
from cityops.intake.import_checks import FileRejected, read_xlsx
from cityops.intake.tests.sheets import good_row, xlsx_bytes
from cityops.intake.xlsx import XlsxError, open_xlsx

pytestmark = pytest.mark.django_db  # the app's test fixtures reset the geo index, which the database versions
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET = "xl/worksheets/sheet1.xml"


def with_member(data: bytes, name: str, content: bytes) -> bytes:
    """`data` (an .xlsx) with one more deflated member."""
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return out.getvalue()


def claiming(data: bytes, name: str, size: int) -> bytes:
    """`data` whose central directory says member `name` unpacks to `size` bytes."""
    raw = bytearray(data)
    at = raw.find(b"PK\x01\x02")
    while at != -1:
        name_len = struct.unpack("<H", raw[at + 28 : at + 30])[0]
        if raw[at + 46 : at + 46 + name_len] == name.encode():
            raw[at + 24 : at + 28] = struct.pack("<I", size)
            return bytes(raw)
        at = raw.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"{name} not in the archive")


@pytest.fixture
def workbook():
    return xlsx_bytes([good_row()])


def test_a_normal_workbook_passes_the_checks(workbook):
    assert open_xlsx(io.BytesIO(workbook)).name == "案件"


def test_a_header_claiming_gigabytes_is_refused_with_the_default_limit(workbook):
    bomb = claiming(workbook, SHEET, 0xF000_0000)  # 3.75 GB
    with pytest.raises(XlsxError) as refused:
        open_xlsx(io.BytesIO(bomb))
    assert refused.value.code == "zip_bomb" and "解压后过大" in refused.value.message


@override_settings(CITYOPS_MAX_XLSX_UNCOMPRESSED_MB=1)
def test_members_unpacking_beyond_the_configured_total_are_refused(workbook):
    bomb = with_member(workbook, "xl/media/padding.bin", b" " * (2 << 20))
    assert len(bomb) < 100_000
    with pytest.raises(FileRejected) as refused:
        read_xlsx(io.BytesIO(bomb))
    assert refused.value.code == "zip_bomb" and "上限 1 MB" in refused.value.message


def test_a_member_that_compresses_a_thousandfold_is_refused(workbook, monkeypatch):
    monkeypatch.setattr(xlsx, "RATIO_FLOOR", 1 << 20)  # the real floor is 64 MB; same rule, smaller file
    bomb = with_member(workbook, "xl/sharedStrings2.xml", b"\0" * (8 << 20))
    with pytest.raises(XlsxError) as refused:
        open_xlsx(io.BytesIO(bomb))
    assert refused.value.code == "zip_bomb" and "压缩比异常" in refused.value.message


def test_an_archive_of_too_many_members_is_refused(workbook, monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_MEMBERS", 10)
    out = io.BytesIO(workbook)
    with zipfile.ZipFile(out, "a") as archive:
        for i in range(10):
            archive.writestr(f"xl/media/{i}.bin", b"")
    with pytest.raises(XlsxError, match="部件过多"):
        open_xlsx(io.BytesIO(out.getvalue()))


@override_settings(CITYOPS_MAX_XLSX_UNCOMPRESSED_MB=1)
def test_the_import_page_reports_a_zip_bomb_and_imports_nothing(client, geo, category):
    client.force_login(UserFactory(role="operator"))
    bomb = with_member(xlsx_bytes([good_row()]), "xl/media/padding.bin", b" " * (2 << 20))
    response = client.post(reverse("intake:import"), {"file": SimpleUploadedFile("cases.xlsx", bomb, content_type=XLSX)})
    # Refused on the form, or by the job it started: either way a page that says why.
    page = client.get(response["Location"]) if response.status_code == 302 else response
    assert page.status_code in (200, 400) and "文件解压后过大" in page.content.decode()
    assert not Case.objects.exists()
