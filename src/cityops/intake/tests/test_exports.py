"""Exports of the case list (page and API): formats, scope, masking, audit, streaming — and the
import → export round trip."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from cityops.accounts.tests.factories import UserFactory
from cityops.api.tests.client import ApiClient
from cityops.audit.models import AuditAction, AuditEntry
from cityops.cases.models import Case, Channel
from cityops.cases.selectors import CaseFilters
from cityops.cases.services import CaseInput, case_create
from cityops.cases.tests.factories import DepartmentFactory
from cityops.catalog.models import CaseType
from cityops.intake.columns import EXPORT_COLUMNS, IMPORT_COLUMNS
from cityops.intake.exports import case_export
from cityops.intake.import_checks import CSV_ESCAPED
from cityops.intake.imports import cases_import
from cityops.intake.tests.sheets import HEADERS, xlsx_bytes
from cityops.intake.tests.support import INSIDE_EAST, INSIDE_WEST

pytestmark = pytest.mark.django_db
EXPORT_HEADERS = [c.header for c in EXPORT_COLUMNS]


@pytest.fixture
def world(geo, category, department):
    """Three cases — west grid (城管), east grid (住建), no location — and one user per role."""
    other = DepartmentFactory(code="zhujian", name="区住建局")
    west = case_create(data=CaseInput(description="西区垃圾成堆", category=category.code, lon=INSIDE_WEST[0], lat=INSIDE_WEST[1],
                                      reporter_name="张三丰", reporter_phone="13812341234", external_id="W-1"))
    east = case_create(data=CaseInput(description="=1+1 东区井盖缺失", lon=INSIDE_EAST[0], lat=INSIDE_EAST[1],
                                      reporter_name="李四", reporter_phone="13900001111"))
    nowhere = case_create(data=CaseInput(description="咨询办事时间", case_type=CaseType.CONSULT, require_location=False,
                                         channel=Channel.WEB, reporter_name="王五", reporter_phone="13700002222"))
    Case.objects.filter(pk=west.pk).update(department=department)
    Case.objects.filter(pk=east.pk).update(department=other)
    inspector = UserFactory(role="inspector")
    inspector.grids.add(geo.west)
    users = {
        "operator": UserFactory(role="operator"), "dispatcher": UserFactory(role="dispatcher"), "leader": UserFactory(role="leader"),
        "dept": UserFactory(role="department", department=department), "other_dept": UserFactory(role="department", department=other),
        "inspector": inspector, "sysadmin": UserFactory(role="sysadmin"),
    }
    return {"west": west, "east": east, "nowhere": nowhere, "users": users}


def _download(client, user, fmt: str, **params):
    client.force_login(user)
    response = client.get(reverse("intake:case_export", args=[fmt]), params)
    assert response.status_code == 200, response.content[:300]
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content), response


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    assert reader.fieldnames == EXPORT_HEADERS
    return list(reader)


def _unescape(text: str) -> str:
    return text[1:] if text.startswith("'") and CSV_ESCAPED.match(text[1:]) else text


# ---------------------------------------------------------------- formats


def test_csv_export_has_chinese_headers_labels_and_escaped_formulas(client, world):
    data, response = _download(client, world["users"]["operator"], "csv")
    rows = {r["案件编号"]: r for r in _csv_rows(data)}
    assert response["Content-Disposition"].startswith('attachment; filename="cases-') and response["X-Total-Count"] == "3"
    assert response["Cache-Control"] == "no-store"
    west = rows[world["west"].number]
    assert (west["状态"], west["来源渠道"], west["工单类型"], west["分类编码"], west["网格编码"]) == (
        "待受理", "热线电话", "投诉", "E9901", "63010200100101")
    assert (west["经度"], west["纬度"], west["坐标系"], west["处置部门"]) == ("101.805", "36.61", "WGS84", "区城市管理局")
    assert rows[world["east"].number]["问题描述"] == "'=1+1 东区井盖缺失"  # Excel will not run it
    assert rows[world["nowhere"].number]["经度"] == "" and rows[world["nowhere"].number]["坐标系"] == ""


def test_xlsx_export_opens_in_openpyxl_with_typed_cells(client, world):
    data, response = _download(client, world["users"]["operator"], "xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(data))["案件"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0] == EXPORT_HEADERS
    by_number = {r[0]: dict(zip(EXPORT_HEADERS, r, strict=False)) for r in rows[1:]}
    west = by_number[world["west"].number]
    assert west["经度"] == 101.805 and isinstance(west["上报时间"], datetime)
    assert west["问题描述"] == "西区垃圾成堆" and by_number[world["east"].number]["问题描述"] == "=1+1 东区井盖缺失"


def test_geojson_export_is_a_feature_collection(client, world):
    data, response = _download(client, world["users"]["operator"], "geojson")
    assert response["Content-Type"] == "application/geo+json"
    collection = json.loads(data)
    features = {f["id"]: f for f in collection["features"]}
    assert collection["type"] == "FeatureCollection" and len(features) == 3
    west = features[world["west"].number]
    assert west["geometry"] == {"type": "Point", "coordinates": [101.805, 36.61]}
    assert west["properties"]["status"] == "new" and west["properties"]["status_label"] == "待受理"
    assert west["properties"]["created_at"].endswith("+08:00")
    assert features[world["nowhere"].number]["geometry"] is None


def test_filters_of_the_list_page_apply(client, world):
    data, _ = _download(client, world["users"]["operator"], "csv", q="垃圾")
    assert [r["案件编号"] for r in _csv_rows(data)] == [world["west"].number]
    data, _ = _download(client, world["users"]["operator"], "csv", channel="web")
    assert [r["案件编号"] for r in _csv_rows(data)] == [world["nowhere"].number]


# ---------------------------------------------------------------- scope, masking, audit


@pytest.mark.parametrize(
    ("role", "visible"),
    [("operator", {"west", "east", "nowhere"}), ("leader", {"west", "east", "nowhere"}), ("dept", {"west"}),
     ("other_dept", {"east"}), ("inspector", {"west"})],
)
def test_exports_contain_only_the_users_cases(client, world, role, visible):
    data, _ = _download(client, world["users"][role], "csv")
    assert {r["案件编号"] for r in _csv_rows(data)} == {world[k].number for k in visible}


def _text(data: bytes, fmt: str) -> str:
    return data.decode("utf-8-sig") if fmt != "xlsx" else json.dumps(
        [[c.value for c in row] for row in load_workbook(io.BytesIO(data)).active.iter_rows()], default=str, ensure_ascii=False)


PII_DESCRIPTION = "联系电话13812345678 身份证11010519491231002X 西区垃圾成堆"


@pytest.mark.parametrize("role", ["operator", "dispatcher", "leader", "dept"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson"])
def test_exports_are_masked_by_default_for_every_role(client, world, role, fmt):
    Case.objects.filter(pk=world["west"].pk).update(description=PII_DESCRIPTION, address="东关大街1号 电话0971-8123456")
    text = _text(_download(client, world["users"][role], fmt)[0], fmt)
    assert "13812341234" not in text and "张三丰" not in text
    assert "138****1234" in text and "张**" in text
    assert "13812345678" not in text and "11010519491231002X" not in text and "0971-8123456" not in text
    assert "联系电话138****5678 身份证110105********002X" in text and "电话097****3456" in text


@pytest.mark.parametrize("role", ["operator", "dispatcher"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson"])
def test_reveal_exports_personal_data_in_clear_for_roles_that_may_see_it_and_is_audited(client, world, role, fmt):
    Case.objects.filter(pk=world["west"].pk).update(description=PII_DESCRIPTION)
    text = _text(_download(client, world["users"][role], fmt, reveal="1")[0], fmt)
    assert "13812341234" in text and "张三丰" in text and PII_DESCRIPTION in text
    reveal = AuditEntry.objects.get(action=AuditAction.VIEW_PERSONAL_DATA)
    assert reveal.actor == world["users"][role] and reveal.target == f"cases:{fmt}"
    assert reveal.details["via"] == "export:web" and reveal.details["count"] == 3
    assert AuditEntry.objects.get(action=AuditAction.EXPORT).details["masked"] is False


@pytest.mark.parametrize("role", ["leader", "dept", "inspector"])
def test_reveal_in_export_is_refused_to_roles_that_may_not_see_personal_data(client, world, role):
    client.force_login(world["users"][role])
    response = client.get(reverse("intake:case_export", args=["csv"]), {"reveal": "1"})
    assert response.status_code == 403 and "脱敏" in response.content.decode()
    assert not AuditEntry.objects.filter(action__in=[AuditAction.EXPORT, AuditAction.VIEW_PERSONAL_DATA]).exists()


def test_a_masked_export_records_no_reveal(client, world):
    _download(client, world["users"]["operator"], "csv")
    assert AuditEntry.objects.get(action=AuditAction.EXPORT).details["masked"] is True
    assert not AuditEntry.objects.filter(action=AuditAction.VIEW_PERSONAL_DATA).exists()


def test_every_export_is_audited(client, world):
    _download(client, world["users"]["leader"], "xlsx", q="垃圾")
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.actor == world["users"]["leader"] and entry.target == "cases:xlsx"
    assert entry.details == {"format": "xlsx", "via": "web", "count": 1, "masked": True, "filters": {"q": "垃圾"}}


def test_exports_are_refused_without_permission_or_with_bad_filters(client, world):
    client.force_login(world["users"]["sysadmin"])
    assert client.get(reverse("intake:case_export", args=["csv"])).status_code == 403
    client.force_login(world["users"]["operator"])
    bad = client.get(reverse("intake:case_export", args=["csv"]), {"created_from": "2026-11-20", "created_to": "2026-11-01"})
    assert bad.status_code == 400 and "未导出" in bad.content.decode()
    assert client.get(reverse("intake:case_export", args=["pdf"])).status_code == 404
    client.logout()
    assert client.get(reverse("intake:case_export", args=["csv"])).status_code == 302
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_the_export_streams_rows_it_has_not_read_yet(world):
    with CaptureQueriesContext(connection) as queries:
        response = case_export(user=world["users"]["operator"], filters=CaseFilters(), fmt="csv")
    assert not any("reporter_phone" in q["sql"] for q in queries.captured_queries)  # only the count and the audit row
    with CaptureQueriesContext(connection) as queries:
        body = b"".join(response.streaming_content)
    assert any("reporter_phone" in q["sql"] for q in queries.captured_queries) and body.count(b"\n") == 4


def test_case_list_page_offers_the_downloads_with_its_filters(client, world):
    client.force_login(world["users"]["leader"])
    page = client.get(reverse("cases:list"), {"q": "垃圾"}).content.decode()
    assert reverse("intake:case_export", args=["xlsx"]) + "?q=%E5%9E%83%E5%9C%BE" in page
    assert "个人信息已脱敏" in page and "reveal=1" not in page  # a leader may not see personal data


def test_case_list_page_offers_the_reveal_downloads_only_to_roles_that_may_see_personal_data(client, world):
    client.force_login(world["users"]["operator"])
    page = client.get(reverse("cases:list"), {"q": "垃圾"}).content.decode()
    assert reverse("intake:case_export", args=["csv"]) + "?q=%E5%9E%83%E5%9C%BE&amp;reveal=1" in page and "记入审计" in page


# ---------------------------------------------------------------- API


def test_api_export_uses_the_callers_scope_and_masking(world):
    response = ApiClient(world["users"]["dept"]).get("/exports/cases", {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = _csv_rows(b"".join(response.streaming_content))
    assert [r["案件编号"] for r in rows] == [world["west"].number] and rows[0]["联系电话"] == "138****1234"
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.details["via"] == "api" and entry.actor == world["users"]["dept"]


def test_api_export_reveals_only_on_request_for_roles_that_may_see_personal_data(world):
    Case.objects.filter(pk=world["west"].pk).update(description=PII_DESCRIPTION)
    operator = ApiClient(world["users"]["operator"])
    masked = _csv_rows(b"".join(operator.get("/exports/cases", {"format": "csv"}).streaming_content))
    west = next(r for r in masked if r["案件编号"] == world["west"].number)
    assert west["联系电话"] == "138****1234" and west["问题描述"].startswith("联系电话138****5678 身份证110105********002X")
    clear = operator.get("/exports/cases", {"format": "csv", "reveal_personal_data": "true"})
    west = next(r for r in _csv_rows(b"".join(clear.streaming_content)) if r["案件编号"] == world["west"].number)
    assert west["联系电话"] == "13812341234" and west["问题描述"] == PII_DESCRIPTION
    assert AuditEntry.objects.get(action=AuditAction.VIEW_PERSONAL_DATA).details["via"] == "export:api"
    refused = ApiClient(world["users"]["dept"]).get("/exports/cases", {"format": "csv", "reveal_personal_data": "true"})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


def test_api_export_formats_and_errors(world):
    api = ApiClient(world["users"]["operator"])
    geojson = api.get("/exports/cases", {"format": "geojson", "status": "new"})
    assert len(json.loads(b"".join(geojson.streaming_content))["features"]) == 3
    assert api.get("/exports/cases", {"format": "pdf"}).json()["code"] == "validation_error"
    assert api.get("/exports/cases", {"sla": "purple"}).json()["code"] == "validation_error"
    assert ApiClient(world["users"]["sysadmin"]).get("/exports/cases").status_code == 403
    assert ApiClient().get("/exports/cases").status_code == 401


# ---------------------------------------------------------------- round trip


def test_import_then_export_round_trips_without_loss(client, geo, category):
    operator = UserFactory(role="operator")
    source = [
        {"外部编号": "RT-1", "来源渠道": "市级12345平台", "工单类型": "投诉", "分类编码": "E9901", "紧急程度": "一般", "标题": "标题,含逗号",
         "问题描述": '描述 "引号" 和\n换行', "地址": "东关大街 1 号", "经度": 101.8051234567891, "纬度": 36.6112345678912,
         "坐标系": "WGS84", "反映人": "欧阳娜娜", "联系电话": "+86 138 1234 1234", "上报时间": datetime(2026, 11, 20, 9, 30, 15)},  # noqa: DTZ001
        {"外部编号": "", "来源渠道": "热线电话", "工单类型": "咨询", "分类编码": "", "紧急程度": "紧急", "标题": "",
         "问题描述": "咨询垃圾分类时间", "地址": "", "经度": None, "纬度": None, "坐标系": "", "反映人": "", "联系电话": "",
         "上报时间": datetime(2026, 11, 19, 23, 59, 59)},  # noqa: DTZ001
        {"外部编号": "RT-3", "来源渠道": "网格员上报", "工单类型": "举报", "分类编码": "E9901", "紧急程度": "紧急", "标题": "-号开头",
         "问题描述": "+号开头的描述 @某人", "地址": "-3层车库", "经度": INSIDE_EAST[0], "纬度": INSIDE_EAST[1], "坐标系": "WGS84",
         "反映人": "李", "联系电话": "0971-8123456", "上报时间": datetime(2026, 11, 1, 0, 0, 0)},  # noqa: DTZ001
    ]
    result = cases_import(source=io.BytesIO(xlsx_bytes(source)), filename="in.xlsx", actor=operator)
    assert result.status == "ok", result.errors

    keys = [c.header for c in IMPORT_COLUMNS]
    data, _ = _download(client, operator, "csv", reveal="1")
    exported_csv = {_unescape(r["问题描述"]): r for r in _csv_rows(data)}
    data, _ = _download(client, operator, "xlsx", reveal="1")
    sheet = [[c.value for c in row] for row in load_workbook(io.BytesIO(data))["案件"].iter_rows()]
    exported_xlsx = {r[EXPORT_HEADERS.index("问题描述")]: dict(zip(EXPORT_HEADERS, r, strict=True)) for r in sheet[1:]}

    def text(value) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S")
        return repr(value) if isinstance(value, float) else str(value)

    for row in source:
        from_csv = exported_csv[row["问题描述"]]
        assert {k: _unescape(from_csv[k]) for k in keys} == {k: text(row[k]) for k in keys}
        from_xlsx = exported_xlsx[row["问题描述"]]
        assert {k: from_xlsx[k] for k in keys} == {k: (row[k] if row[k] != "" else None) for k in keys}

    # The export is itself an import file: read back, only the already-imported external ids stand in the way.
    again = cases_import(source=io.BytesIO(b"".join(client.get(reverse("intake:case_export", args=["csv"]), {"reveal": "1"}).streaming_content)),
                         filename="again.csv", actor=operator, dry_run=True)
    assert {e.code for e in again.errors} == {"duplicate_existing"} and again.rows_total == 3
    assert keys == HEADERS
