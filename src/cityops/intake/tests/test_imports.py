"""Bulk import (cases_import): the rules of case_create for every row, all-or-nothing, and a
precise error (row, column, value, why) for every kind of bad spreadsheet."""

from __future__ import annotations

import io
import random
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from cityops.accounts.tests.factories import UserFactory
from cityops.audit.models import AuditAction, AuditEntry
from cityops.cases import sla
from cityops.cases.models import Case, CaseEvent, Channel
from cityops.cases.services import CaseInput, case_create, next_case_number
from cityops.cases.states import Action, Status
from cityops.catalog.models import LimitUnit, Stage
from cityops.geo import lookup
from cityops.intake import imports
from cityops.intake.import_checks import locate_many
from cityops.intake.imports import RegisterClock, case_numbers_reserve, cases_import, register_limits
from cityops.intake.tests.sheets import HEADERS, WHEN, csv_bytes, good_row, xlsx_bytes
from cityops.intake.tests.support import INSIDE_EAST, INSIDE_WEST, MID, OUTSIDE, E, N, S, W

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def operator(db):
    return UserFactory(role="operator", display_name="受理员 王")


@pytest.fixture
def run(geo, category, operator):
    """`run(data, filename, **kwargs)` → ImportResult, as the operator."""

    def call(data: bytes, filename: str = "cases.xlsx", **kwargs):
        kwargs.setdefault("actor", operator)
        return cases_import(source=io.BytesIO(data), filename=filename, **kwargs)

    return call


def _errors(result) -> list[tuple]:
    return [(e.row, e.column, e.code) for e in result.errors]


def _local(moment: datetime) -> datetime:
    return timezone.make_aware(moment)


# ---------------------------------------------------------------- writing


def test_rows_become_cases_exactly_as_case_create_makes_them(run, geo, category, operator):
    rows = [
        good_row(外部编号="SJ-001", 来源渠道="市级12345平台", 标题="垃圾未清运"),
        good_row(工单类型="咨询", 经度=None, 纬度=None, 分类编码="", 紧急程度="紧急", 上报时间=None, 问题描述="咨询垃圾分类时间"),
    ]
    result = run(xlsx_bytes(rows))
    assert (result.status, result.created, result.errors) == ("ok", 2, [])

    first = Case.objects.get(external_id="SJ-001")
    reference = case_create(
        data=CaseInput(description=first.description, channel=Channel.CITY_PLATFORM, category=category.code, lon=101.805, lat=36.61,
                       address="东关大街 1 号", reporter_name="张三", reporter_phone="13812341234"),
        now=_local(WHEN),
    )
    for field in ("channel", "case_type", "category_id", "urgency", "status", "lon", "lat", "grid_id", "community_id", "street_id",
                  "reporter_name", "reporter_phone", "created_at", "stage", "stage_started_at", "stage_unit", "deadline", "warn_at",
                  "sla_level", "address"):
        assert getattr(first, field) == getattr(reference, field), field
    assert first.grid == geo.west and first.title == "垃圾未清运" and first.created_by == operator
    assert first.number.startswith("CD20261120-") and len(first.tracking_code) == 10

    event = CaseEvent.objects.get(case=first)
    assert (event.action, event.to_status, event.actor, event.created_at) == (Action.CREATE, Status.NEW, operator, first.created_at)
    assert event.payload["import"] == result.import_id and event.payload["row"] == 2

    consult = Case.objects.get(description="咨询垃圾分类时间")
    assert consult.lon is None and consult.urgency == "urgent" and consult.category is None
    assert abs((consult.created_at - timezone.now()).total_seconds()) < 120  # no date: the import time

    audit = AuditEntry.objects.get(action=AuditAction.IMPORT)
    assert audit.actor == operator and audit.details["status"] == "ok" and audit.details["created"] == 2
    assert audit.details["sha256"] == result.sha256


def test_case_numbers_continue_the_days_sequence(run):
    day = datetime(2026, 11, 20, 8, 0, tzinfo=SH)
    with_counter = next_case_number(day)
    assert with_counter.endswith("-0001")
    result = run(xlsx_bytes([good_row(), good_row()]))
    assert (result.first_number, result.last_number) == ("CD20261120-0002", "CD20261120-0003")
    assert case_numbers_reserve(day.date(), 2) == ["CD20261120-0004", "CD20261120-0005"]
    assert next_case_number(day) == "CD20261120-0006"


def test_csv_with_bom_and_gbk_csv_are_read(run):
    assert run(csv_bytes([good_row(外部编号="A1")]), "cases.csv").created == 1
    result = run(csv_bytes([good_row(外部编号="A2")], encoding="gb18030"), "导出.csv")
    assert (result.status, result.encoding) == ("ok", "gb18030")
    assert Case.objects.filter(external_id="A2", reporter_name="张三").exists()


def test_text_dates_in_unambiguous_spellings_are_accepted(run):
    rows = [good_row(上报时间="2026/11/20 09:30"), good_row(上报时间="2026年11月20日 9:30"), good_row(上报时间="2026-11-20T09:30:00")]
    result = run(xlsx_bytes(rows))
    assert result.status == "ok"
    assert set(Case.objects.values_list("created_at", flat=True)) == {_local(WHEN)}


def test_all_or_nothing_by_default_and_skip_invalid_on_request(run):
    rows = [good_row(外部编号="K1"), good_row(外部编号="K2", 问题描述=""), good_row(外部编号="K3")]
    rejected = run(xlsx_bytes(rows))
    assert (rejected.status, rejected.created, _errors(rejected)) == ("rejected", 0, [(3, "G", "required")])
    assert not Case.objects.exists() and not CaseEvent.objects.exists()

    partial = run(xlsx_bytes(rows), skip_invalid=True)
    assert (partial.status, partial.created, partial.skipped) == ("partial", 2, 1)
    assert sorted(Case.objects.values_list("external_id", flat=True)) == ["K1", "K3"]
    assert list(AuditEntry.objects.filter(action=AuditAction.IMPORT).order_by("id").values_list("details__status", flat=True)) == [
        "rejected", "partial"]


@pytest.mark.django_db(transaction=True)
def test_the_write_commits_chunk_by_chunk_so_other_writes_go_on_meanwhile(run, monkeypatch):
    from django.db import connection

    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    seen = []

    def progress(phase, done, total):
        if phase == "write" and done:
            # Between two chunks no transaction is open: another request may write now.
            seen.append((done, connection.in_atomic_block, Case.objects.count()))

    result = run(csv_bytes([good_row(外部编号=f"C{i}") for i in range(5)]), "cases.csv", progress=progress)
    assert result.status == "ok" and result.created == 5
    assert seen == [(2, False, 2), (4, False, 4), (5, False, 5)]


@pytest.mark.parametrize(("vendor", "pauses"), [("sqlite", [0.5, 0.1, 2.0]), ("postgresql", [])])
def test_between_chunks_writers_waiting_for_the_sqlite_lock_get_their_turn(monkeypatch, vendor, pauses):
    from types import SimpleNamespace

    from cityops.common import db

    slept = []
    monkeypatch.setattr(db.time, "sleep", slept.append)
    monkeypatch.setattr(db, "connection", SimpleNamespace(vendor=vendor, in_atomic_block=False))
    db.let_others_write(2.0)
    db.let_others_write(0.01)
    db.let_others_write(2.0, contended=True)
    assert slept == pauses


@pytest.mark.django_db(transaction=True)
def test_a_failed_chunk_removes_the_chunks_already_written(run, monkeypatch):
    monkeypatch.setattr(imports, "BATCH_SIZE", 2)
    insert = imports._ChunkWriter.insert
    chunks = []

    def fail_third_chunk(self, prepared):
        chunks.append(prepared)
        if len(chunks) == 3:
            raise imports.IntegrityError("the database refused the chunk")
        return insert(self, prepared)

    monkeypatch.setattr(imports._ChunkWriter, "insert", fail_third_chunk)
    result = run(csv_bytes([good_row(外部编号=f"C{i}") for i in range(5)]), "cases.csv")
    assert (result.status, result.created) == ("failed", 0)
    assert "没有写入任何案件" in result.message
    assert not Case.objects.exists() and not CaseEvent.objects.exists()


def test_imported_cases_are_sent_to_webhooks_as_created_at_their_report_time(run, operator, django_capture_on_commit_callbacks):
    from cityops.api.models import WebhookDelivery, WebhookSubscription
    from cityops.api.tests.service_accounts import service_account

    leader = service_account("leader")  # subscriptions belong to service accounts of role system
    WebhookSubscription.objects.create(name="大屏", account=leader, url="http://127.0.0.1:9/hook", events=["case.created"],
                                       secret="s" * 32)
    with django_capture_on_commit_callbacks(execute=True):
        result = run(csv_bytes([good_row(外部编号="W1"), good_row(外部编号="W2")]), "cases.csv")
    assert result.created == 2
    payloads = [d.payload for d in WebhookDelivery.objects.order_by("id")]
    assert [(p["type"], p["case"]["external_id"], p["case"]["status"]) for p in payloads] == [
        ("case.created", "W1", "new"), ("case.created", "W2", "new")]
    assert {p["created_at"] for p in payloads} == {timezone.localtime(_local(WHEN)).isoformat()}


def test_dry_run_checks_without_writing(run):
    result = run(xlsx_bytes([good_row()]), dry_run=True)
    assert (result.status, result.rows_valid, result.created) == ("valid", 1, 0)
    assert not Case.objects.exists()


def test_exported_columns_are_ignored_and_headers_are_forgiving(run):
    padded = {h: f" {h}*" if h == "问题描述" else f" {h} " for h in HEADERS}  # spaces and a required-mark
    headers = ["案件编号", "状态", *padded.values(), "分类名称"]
    row = {padded[h]: value for h, value in good_row().items()} | {"案件编号": "CD20260101-0001", "状态": "已结案", "分类名称": "暴露垃圾"}
    result = run(xlsx_bytes([row], headers))
    assert (result.status, result.created) == ("ok", 1)
    assert Case.objects.get().status == Status.NEW


# ---------------------------------------------------------------- bad headers and files


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([*HEADERS, "备注"], [(1, "O", "unknown_column")]),
        ([h for h in HEADERS if h != "问题描述"], [(1, "", "missing_column")]),
        ([*HEADERS, "地址"], [(1, "O", "duplicate_column")]),
        ([h for h in HEADERS if h != "纬度"], [(1, "", "missing_column")]),
    ],
    ids=["unknown", "missing-required", "duplicate", "lon-without-lat"],
)
def test_wrong_headers_reject_the_file(run, headers, expected):
    result = run(xlsx_bytes([good_row()], headers))
    assert result.status == "rejected" and _errors(result) == expected
    assert not Case.objects.exists()


def test_a_title_line_above_the_header_is_named(run):
    def title_row(ws):
        ws.insert_rows(1)
        ws["A1"] = "2026年11月案件汇总"

    result = run(xlsx_bytes([good_row()], edit=title_row))
    assert _errors(result) == [(1, "", "header_not_first_row")]
    assert "第 2 行才是表头" in result.errors[0].message


@pytest.mark.parametrize(
    ("data", "filename", "code"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "cases.xls", "xls_unsupported"),
        (b"this is not a zip", "cases.xlsx", "not_xlsx"),
        (b"PK\x03\x04 broken zip", "cases.xlsx", "not_xlsx"),
        (b"", "cases.csv", "empty"),
        ("\ufeff".encode() + ",".join(HEADERS).encode(), "cases.csv", "empty"),
        (bytes(range(128, 256)) * 4, "cases.csv", "encoding"),
        (b"a,b\x00,c\n", "cases.csv", "csv_error"),
    ],
    ids=["xls", "not-zip", "broken-zip", "empty", "header-only", "binary", "nul"],
)
def test_unreadable_files_get_one_precise_file_error(run, data, filename, code):
    result = run(data, filename)
    assert result.status == "rejected"
    assert [(e.row, e.code) for e in result.errors] == [(0, code)]
    assert result.message


def test_too_many_rows_are_refused_before_anything_is_written(run, settings):
    settings.CITYOPS_IMPORT_MAX_ROWS = 2
    result = run(xlsx_bytes([good_row(), good_row(), good_row()]))
    assert [(e.row, e.code) for e in result.errors] == [(0, "too_many_rows")]


# ---------------------------------------------------------------- bad cells


def test_merged_cells_are_reported_for_every_row_they_cover(run):
    result = run(xlsx_bytes([good_row(), good_row(), good_row()], edit=lambda ws: ws.merge_cells("G2:G3")))
    assert result.status == "rejected"
    assert [(r, c, code) for r, c, code in _errors(result) if code == "merged_cell"] == [(2, "G", "merged_cell"), (3, "G", "merged_cell")]
    assert all(e.value == "G2:G3" for e in result.errors if e.code == "merged_cell")


def test_merged_header_cells_reject_the_file(run):
    result = run(xlsx_bytes([good_row()], edit=lambda ws: ws.merge_cells("A1:B1")))
    assert (1, "A", "merged_cell") in _errors(result) and result.created == 0


def test_formulas_and_error_values_are_named_cell_by_cell(run):
    def cells(ws):
        ws["G2"] = '="垃圾"&"成堆"'
        ws["I3"] = "=101.8+0.005"
        ws["M4"] = "#N/A"

    result = run(xlsx_bytes([good_row(), good_row(), good_row()], edit=cells))
    assert _errors(result) == [(2, "G", "formula"), (3, "I", "formula"), (4, "M", "cell_error")]
    assert result.errors[0].value == '="垃圾"&"成堆"'


def test_a_formula_in_a_csv_is_refused_and_an_escaped_one_is_text(run):
    rows = [good_row(问题描述="=HYPERLINK(\"http://x\")"), good_row(问题描述="'=1+1 不是公式")]
    result = run(csv_bytes(rows), "cases.csv", skip_invalid=True)
    assert _errors(result) == [(2, "G", "formula")]
    assert Case.objects.get().description == "=1+1 不是公式"


@pytest.mark.parametrize(
    ("value", "code"),
    [("11月20日", "date_text"), ("20/11/2026", "date_text"), ("昨天下午", "date_text"), (46346.5, "date_number"),
     (WHEN.replace(year=2031), "date_future"), (WHEN.replace(year=1999), "date_too_old")],
)
def test_bad_report_times(run, value, code):
    result = run(xlsx_bytes([good_row(上报时间=value)]))
    assert _errors(result) == [(2, "N", code)]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"分类编码": "X0000"}, [(2, "D", "unknown_category")]),
        ({"分类编码": "E99"}, [(2, "D", "not_leaf")]),
        ({"经度": OUTSIDE[0], "纬度": OUTSIDE[1]}, [(2, "I", "outside_district")]),
        ({"经度": None, "纬度": None}, [(2, "I", "location_required")]),
        ({"纬度": None}, [(2, "J", "location_pair")]),
        ({"经度": "东经101度"}, [(2, "I", "not_number")]),
        ({"纬度": 136.61}, [(2, "J", "out_of_range")]),
        ({"联系电话": "138-1234-abcd"}, [(2, "M", "bad_phone")]),
        ({"标题": "长" * 121}, [(2, "F", "too_long")]),
        ({"来源渠道": "微信"}, [(2, "B", "invalid_choice")]),
        ({"工单类型": "抱怨"}, [(2, "C", "invalid_choice")]),
        ({"坐标系": "BD09"}, [(2, "K", "invalid_choice")]),
        ({"问题描述": "   "}, [(2, "G", "required")]),
        ({"外部编号": WHEN}, [(2, "A", "not_text")]),
    ],
)
def test_bad_values_are_named_with_row_and_column(run, overrides, expected):
    result = run(xlsx_bytes([good_row(**overrides)]))
    assert _errors(result) == expected
    assert result.errors[0].header == HEADERS[ord(expected[0][1]) - ord("A")]
    assert not Case.objects.exists()


def test_numbers_typed_into_text_columns_are_kept_as_digits(run):
    result = run(xlsx_bytes([good_row(联系电话=13812341234, 外部编号=20261120001)]))
    assert result.status == "ok"
    assert Case.objects.filter(reporter_phone="13812341234", external_id="20261120001").exists()


def test_gcj02_points_are_converted_like_case_create(run):
    from cityops.geo.coords import wgs84_to_gcj02

    lon, lat = wgs84_to_gcj02(*INSIDE_WEST)
    assert run(xlsx_bytes([good_row(经度=lon, 纬度=lat, 坐标系="GCJ02")])).status == "ok"
    case = Case.objects.get()
    assert case.coord_source == "gcj02" and abs(case.lon - INSIDE_WEST[0]) < 1e-5 and abs(case.lat - INSIDE_WEST[1]) < 1e-5


def test_duplicate_external_ids_in_the_file_and_in_the_database(run):
    case_create(data=CaseInput(description="已有", channel=Channel.HOTLINE, external_id="OLD-1", require_location=False))
    rows = [good_row(外部编号="NEW-1"), good_row(外部编号="NEW-1"), good_row(外部编号="OLD-1"), good_row(外部编号="OLD-1", 来源渠道="系统接口")]
    result = run(xlsx_bytes(rows))
    assert _errors(result) == [(3, "A", "duplicate_in_file"), (4, "A", "duplicate_existing")]
    assert "第 2 行" in result.errors[0].message


def test_ten_thousand_broken_rows_get_every_error_and_nothing_is_written(run):
    rows = [good_row(问题描述="", 联系电话="电话") for _ in range(10_000)]
    result = run(csv_bytes(rows), "broken.csv")
    assert (result.status, result.rows_total, result.invalid_rows, result.errors_total) == ("rejected", 10_000, 10_000, 20_000)
    assert {(e.row, e.column) for e in result.errors} == {(r, c) for r in range(2, 10_002) for c in ("G", "M")}
    assert not Case.objects.exists()


# ---------------------------------------------------------------- the bulk helpers agree with the one-case rules


def test_derived_data_of_imported_cases_equals_a_full_rebuild(run):
    """Statistics, the open-case snapshot and the duplicate index, as their own rebuilds compute them."""
    from cityops.analytics.models import DailyCount, MonthlyCount, OpenCase
    from cityops.analytics.rollups import rollup_rebuild
    from cityops.routing.duplicates import reindex
    from cityops.routing.models import DuplicateIndexEntry

    rows = [good_row(), good_row(工单类型="咨询", 经度=None, 纬度=None, 上报时间=WHEN.replace(day=1, hour=22)),
            good_row(经度=INSIDE_EAST[0], 纬度=INSIDE_EAST[1], 分类编码="", 上报时间=WHEN.replace(month=10))]
    assert run(xlsx_bytes(rows)).status == "ok"

    def derived():
        open_fields = [f.attname for f in OpenCase._meta.concrete_fields]
        return (
            sorted(DailyCount.objects.values_list("day", "street_id", "dim", "key", "n")),
            sorted(MonthlyCount.objects.values_list("month", "street_id", "dim", "key", "n")),
            sorted(OpenCase.objects.values_list(*open_fields)),
            sorted(DuplicateIndexEntry.objects.values_list("case_id", "cell", "lat", "lon", "created_at", "text")),
        )

    imported = derived()
    assert imported[0] and len(imported[2]) == 3 and len(imported[3]) == 2
    rollup_rebuild()
    reindex()
    assert derived() == imported



@pytest.mark.parametrize(
    "limit",
    [(1, LimitUnit.WORK_HOUR), (4, LimitUnit.WORK_HOUR), (1, LimitUnit.WORK_DAY), ("1.5", LimitUnit.WORK_DAY),
     ("0.5", LimitUnit.WORK_DAY), (2, LimitUnit.HOUR), (1, LimitUnit.DAY)],
)
def test_register_clock_matches_stage_fields(limit):
    limit = sla.Limit(Decimal(limit[0]), limit[1])
    clock = RegisterClock()
    rng = random.Random(7)
    # Two weeks around the National Day holiday (and its 调休 working weekend), to the second.
    base = datetime(2026, 9, 25, tzinfo=SH)
    starts = [base + timedelta(seconds=rng.randrange(21 * 86400)) for _ in range(400)]
    starts += [datetime(2026, 9, 28, h, m, tzinfo=SH) for h, m in ((8, 30), (12, 0), (14, 0), (18, 0), (0, 0), (11, 59))]
    for start in starts:
        assert clock.fields(start, limit) == sla.stage_fields(None, Stage.REGISTER, start, limit), start


def test_register_limits_match_stage_limit(category):
    from cityops.catalog.models import Category, CategoryKind, CategorySystem

    bare = Category.objects.create(code="E9999", name="无时限小类", system=CategorySystem.URBAN, kind=CategoryKind.EVENT,
                                   parent=category.parent, level=2)
    keys = {(c, u, t) for c in (category.pk, bare.pk, None) for u in ("normal", "urgent") for t in ("complaint", "consult")}
    assert register_limits(keys) == {
        (c, u, t): sla.stage_limit(category_id=c, urgency=u, stage=Stage.REGISTER, case_type=t) for c, u, t in keys
    }


def test_locate_many_matches_locate(geo):
    from cityops.geo.coords import wgs84_to_gcj02

    rng = random.Random(3)
    points = [(rng.uniform(W - 0.01, E + 0.01), rng.uniform(S - 0.01, N + 0.01), "wgs84") for _ in range(300)]
    points += [(MID, 36.61, "wgs84"), (*INSIDE_EAST, "wgs84"), (*OUTSIDE, "wgs84"), (*wgs84_to_gcj02(*INSIDE_WEST), "gcj02")]
    geo.east.delete()  # half the district without grids: those points take the community fallback
    lookup.index_changed()
    regions = {code: pk for pk, code in geo.district.__class__.objects.values_list("pk", "code")}
    for (lon, lat, system), found in zip(points, locate_many(points), strict=True):
        try:
            expected = lookup.locate(lon, lat, system)
        except lookup.OutsideDistrictError:
            assert found is None
            continue
        assert found == (expected.lon, expected.lat, expected.grid_code, regions.get(expected.community_code),
                         regions.get(expected.street_code))
