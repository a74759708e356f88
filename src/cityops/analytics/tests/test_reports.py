"""Analysis reports (周报/月报) on a small fixed history: the figures against hand-computed values,
the comparison with the previous week, the narrative, the workbook, the printable page, the
command, the schedule, and who may have them.

The story (2026-W11 = Monday 9 to Sunday 15 March 2026, compared with W10 = 2 to 8 March; no
holidays; the test category is due 2 working days after dispatch):

  W11  a1  street 1, 暴露垃圾: registered, dispatched, answered next day, verified (closed), callback 满意
       a2  street 1, 暴露垃圾: registered, dispatched 3/9, never answered → overdue by the week's end
       a3  street 2, 占道经营: registered, dispatched, answered next day, verified (closed), callback 不满意
       a4  street 1, 占道经营: registered only
       a5  street 2, 暴露垃圾: new
  W10  b1  street 1, 暴露垃圾: the whole way, on time, callback 满意
       b2  street 1, 暴露垃圾: registered only

By hand, W11 (W10): received 5 (2), registered 4 (2), dispatched 3 (1), closed 2 (1); of the
cases dispatched in the week 3 (1) were due and 2 (1) closed on time → 66.7 % (100.0 %), 1 (0)
overdue and unanswered; callbacks 1 of 2 satisfied → 50.0 % (1 of 1: 100.0 %).
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from cityops.analytics import reports
from cityops.analytics.models import HotIssueRun
from cityops.analytics.reports import (
    SHEETS,
    ReportPeriodError,
    generate_due_reports,
    report_build,
    report_html,
    report_period_last,
    report_period_parse,
    report_write,
    report_xlsx,
)
from cityops.analytics.rollups import rollup_rebuild
from cityops.analytics.tests.support import EAST, WEST
from cityops.analytics.tests.support import report as new_case
from cityops.assessment.indicators import Kind
from cityops.assessment.periods import date_range
from cityops.assessment.selectors import ranking_between
from cityops.audit.models import AuditAction, AuditEntry
from cityops.cases.states import Action
from cityops.cases.workflow import case_transition
from cityops.cli import translate
from cityops.testing.pages import EVENT_HANDLER, INLINE_SCRIPT, STYLE_ELEMENT

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def history(district, people, category, other_category, department):
    def act(case, action, when, actor, **data):
        return case_transition(case=case, action=action, actor=people[actor], data=data, now=when)

    def handled(case, day: int, *, satisfaction: str | None = None, answer: bool = True):
        case = act(case, Action.REGISTER, at(3, day, 9, 10), "operator", category=case.category.code)
        case = act(case, Action.DISPATCH, at(3, day, 9, 20), "dispatcher", department=department.code)
        case = act(case, Action.SIGN, at(3, day, 9, 30), "dept")
        if not answer:
            return case
        case = act(case, Action.RESPOND, at(3, day + 1, 10), "dept", result="已处置")
        case = act(case, Action.VERIFY, at(3, day + 1, 15), "dispatcher", passed=True)
        return act(case, Action.CALLBACK, at(3, day + 2, 10), "operator", satisfaction=satisfaction)

    out = {
        "a1": new_case(category=category, now=at(3, 9, 9)),
        "a2": new_case(category=category, now=at(3, 9, 9, 5)),
        "a3": new_case(category=other_category, lonlat=EAST, now=at(3, 10, 9)),
        "a4": new_case(category=other_category, now=at(3, 12, 9)),
        "a5": new_case(category=category, lonlat=EAST, now=at(3, 13, 9)),
        "b1": new_case(category=category, now=at(3, 2, 9)),
        "b2": new_case(category=category, lonlat=WEST, now=at(3, 3, 9)),
    }
    handled(out["a1"], 9, satisfaction="satisfied")
    handled(out["a2"], 9, answer=False)
    handled(out["a3"], 10, satisfaction="unsatisfied")
    act(out["a4"], Action.REGISTER, at(3, 12, 9, 10), "operator", category=other_category.code)
    handled(out["b1"], 2, satisfaction="satisfied")
    act(out["b2"], Action.REGISTER, at(3, 3, 9, 10), "operator", category=category.code)
    rollup_rebuild()  # the rollups from the events (the live receiver runs after commit)
    return out


@pytest.fixture
def w11():
    return report_period_parse("weekly", "2026-W11")


def figures(report) -> dict[str, tuple]:
    return {f.code: (f.value, f.previous, f.change) for f in report.summary}


# ---------------------------------------------------------------- periods


def test_periods_are_iso_weeks_and_calendar_months_with_the_one_before():
    week = report_period_parse("weekly", "2026-W11")
    assert (week.start.isoformat(), week.end.isoformat()) == ("2026-03-09", "2026-03-15")
    assert (week.prev_start.isoformat(), week.prev_end.isoformat()) == ("2026-03-02", "2026-03-08")
    first = report_period_parse("weekly", "2026-w01")  # ISO week 1 of 2026 starts on 29 Dec 2025
    assert first.start.isoformat() == "2025-12-29" and first.key == "2026-W01"
    month = report_period_parse("monthly", "2026-3")
    assert (month.key, month.start.isoformat(), month.end.isoformat()) == ("2026-03", "2026-03-01", "2026-03-31")
    assert (month.prev_start.isoformat(), month.prev_end.isoformat()) == ("2026-02-01", "2026-02-28")


def test_the_default_period_is_the_last_one_that_has_ended():
    friday = date(2026, 11, 27)
    assert report_period_last("weekly", today=friday).key == "2026-W47"
    assert report_period_last("monthly", today=friday).key == "2026-10"
    monday = date(2026, 11, 23)
    assert report_period_last("weekly", today=monday).key == "2026-W47"


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("monthly", "2026-13", "月份应为 01 至 12"),
        ("monthly", "2026-00", "月份应为 01 至 12"),
        ("monthly", "next month", "格式应为 YYYY-MM"),
        ("weekly", "2026-W54", "没有第 54 周"),
        ("weekly", "2026-11", "格式应为 YYYY-Www"),
        ("weekly", "1999-W10", "没有第 10 周"),
        ("monthly", "2999-01", "尚未开始"),
        ("monthly", "2026-11", "尚未结束"),  # "today" is in November 2026 in this test
        ("weekly", "2026-W48", "尚未结束"),
        ("yearly", "2026", "未知的报告类型"),
    ],
)
def test_bad_periods_are_refused_with_a_clear_message(kind, text, message):
    with pytest.raises(ReportPeriodError, match=message):
        report_period_parse(kind, text, today=date(2026, 11, 27))


# ---------------------------------------------------------------- figures


def test_summary_figures_equal_the_hand_computed_values(history, w11):
    report = report_build(w11)
    got = figures(report)
    assert got["received"] == (5, 2, 150.0)
    assert got["registered"] == (4, 2, 100.0)
    assert got["dispatched"] == (3, 1, 200.0)
    assert got["closed"] == (2, 1, 100.0)
    assert got["on_time_rate"] == (66.7, 100.0, -33.3)  # percentage points
    assert got["overdue_open"] == (1, 0, None)  # no change in % from zero
    assert got["satisfaction"] == (50.0, 100.0, -50.0)
    # a lower on-time rate is shown as bad; more cases received is neither good nor bad
    assert [report.figure(code).tone for code in ("on_time_rate", "satisfaction", "received")] == ["bad", "bad", ""]


def test_the_previous_week_is_reported_against_its_own_previous_week(history):
    got = figures(report_build(report_period_parse("weekly", "2026-W10")))
    assert got["received"] == (2, 0, None)
    assert got["closed"] == (1, 0, None)
    assert got["on_time_rate"] == (100.0, None, None)
    assert got["satisfaction"] == (100.0, None, None)


def test_categories_and_streets_carry_both_weeks_and_the_difference(history, w11):
    report = report_build(w11)
    cats = {c.name: (c.value, c.previous, c.diff, c.change) for c in report.categories}
    assert cats == {"暴露垃圾": (3, 2, 1, 50.0), "占道经营": (2, 0, 2, None)}
    streets = {s.name: (s.value, s.previous, s.diff) for s in report.streets}
    assert streets == {"第1街道": (3, 2, 1), "第2街道": (2, 0, 2)}


def test_department_figures_come_from_the_assessment(history, w11, department):
    report = report_build(w11)
    [row] = report.departments
    assert (row.name, row.dispatched, row.handled, row.returned, row.on_time_rate) == ("区城市管理局", 3, 2, 0, 66.7)
    ranking = ranking_between(Kind.DEPARTMENT, date_range(w11.start, w11.end), date_range(w11.prev_start, w11.prev_end))
    assessed = next(r for r in ranking.rows if r.subject.id == department.pk)
    assert row.score == float(assessed.score) and row.grade == assessed.grade and row.rank == assessed.rank == 1
    assert [k.name for k in report.department_ranking] == ["区城市管理局"]


def test_a_week_inside_a_frozen_month_is_counted_live_not_from_the_month_snapshot(history, w11):
    from cityops.assessment.models import AssessmentSnapshot

    AssessmentSnapshot.objects.create(kind=Kind.DEPARTMENT, month=w11.start.replace(day=1), data={"999": {"dispatched": 50}})
    assert [d.dispatched for d in report_build(w11).departments] == [3]


def test_the_overdue_list_is_the_open_cases_most_overdue_first(history, w11):
    report = report_build(w11)
    h = history
    assert [o.number for o in report.overdue] == [h["b2"].number, h["a2"].number, h["a4"].number, h["a5"].number]
    assert report.overdue_total == 4
    assert report.overdue[0].category == "暴露垃圾" and report.overdue[0].street == "第1街道"
    assert report.overdue[1].department == "区城市管理局" and report.overdue[1].hours > 24 * 200


def test_hot_issues_are_the_stored_run_that_ends_with_the_week(history, w11):
    end = at(3, 16, 0)
    cluster = {"rank": 1, "text": "=HYPERLINK(\"http://x\")小区门口垃圾", "size": 4, "previous": 1, "growth": 3,
               "category": "暴露垃圾", "place": {"street": "第1街道", "community": "第1社区"}, "representative": "CD1"}
    HotIssueRun.objects.create(computed_at=end + timedelta(days=3), window_start=end - timedelta(days=4),
                               window_end=end + timedelta(days=3), clusters=[{**cluster, "text": "三天后的热点"}])
    assert report_build(w11).hot == []  # a run of a later window is not this week's
    HotIssueRun.objects.create(computed_at=end + timedelta(hours=6), window_start=end - timedelta(days=7, hours=-6),
                               window_end=end + timedelta(hours=6), clusters=[cluster])
    report = report_build(w11)
    assert [(h.text, h.size, h.growth, h.place) for h in report.hot] == [(cluster["text"], 4, 3, "第1街道 第1社区")]
    assert report.hot_window == "2026-03-09 06:00 至 2026-03-16 06:00"
    book = load_workbook(io.BytesIO(report_xlsx(report)))
    cell = book["热点诉求"]["B3"]
    assert cell.value == cluster["text"] and cell.data_type == "s"  # text, never a formula


# ---------------------------------------------------------------- narrative


def test_the_narrative_states_the_figures_and_their_changes_only(history, w11):
    report = report_build(w11)
    assert report.narrative == [
        "本周共受理案件 5 件，较上周增加 150.0%。",
        "立案 4 件，派遣 3 次，结案 2 件。",
        "按期结案率 66.7%，较上周下降 33.3 个百分点。",
        "群众满意率 50.0%，较上周下降 50.0 个百分点；回访率 100.0%。",
        "案件量增加最多的类别是“占道经营”（+2 件），增加最多的街道是“第2街道”（+2 件）。",
        "本周派遣的案件中有 1 件截至期末超期未处置（上周 0 件）。",
    ]
    assert not any(word in " ".join(report.narrative) for word in ("因为", "由于", "原因", "导致"))


def test_an_empty_period_gives_an_empty_report_not_an_error(district):
    report = report_build(report_period_parse("monthly", "2026-01"))
    assert report.empty
    assert report.narrative == [
        "本月没有受理案件，上月也没有。",
        "本月没有立案、派遣或结案。",
        "本月派遣的案件中没有到期应结的案件，按期结案率无从计算。",
    ]
    assert "本月没有受理案件。" in report.notes
    assert report.categories == [] and report.departments == [] and report.hot == []
    assert {s.name: s.value for s in report.streets} == {"第1街道": 0, "第2街道": 0}
    book = load_workbook(io.BytesIO(report_xlsx(report)))
    assert book.sheetnames == list(SHEETS)
    html = report_html(report)
    assert "本月和上月都没有受理案件。" in html and "本月没有派遣至部门的案件。" in html


# ---------------------------------------------------------------- the workbook and the page


def test_the_workbook_has_the_named_sheets_and_the_right_totals(history, w11):
    book = load_workbook(io.BytesIO(report_xlsx(report_build(w11))))
    assert book.sheetnames == ["概况", "分类", "街道", "部门", "超期案件", "热点诉求", "排名"]
    summary = {row[0]: row[1:4] for row in book["概况"].iter_rows(min_row=5, max_row=11, values_only=True)}
    assert summary["受理案件(件)"] == (5, 2, 150.0)
    assert summary["按期结案率(%)"] == (66.7, 100.0, -33.3)
    texts = [row[0] for row in book["概况"].iter_rows(values_only=True) if row and row[0]]
    assert "本周共受理案件 5 件，较上周增加 150.0%。" in texts
    streets = list(book["街道"].iter_rows(min_row=2, values_only=True))
    assert streets[-1][:4] == ("合计", 5, 2, 3)
    assert sum(r[1] for r in book["分类"].iter_rows(min_row=2, values_only=True)) == 5
    assert [r[1:4] for r in book["部门"].iter_rows(min_row=2, values_only=True)] == [("区城市管理局", 3, 2)]
    overdue = [r[0] for r in book["超期案件"].iter_rows(min_row=3, values_only=True)]
    assert overdue == [history[k].number for k in ("b2", "a2", "a4", "a5")]


def test_the_printable_page_holds_the_figures_and_no_inline_script_or_style(history, w11):
    report = report_build(w11)
    html = report_html(report)
    for sentence in report.narrative:
        assert sentence in html
    assert "2026年第11周（3月9日至3月15日）" in html and "66.7%" in html and "-33.3 个百分点" in html
    assert html.count("<svg") == 3
    assert not INLINE_SCRIPT.search(html) and not STYLE_ELEMENT.search(html) and not EVENT_HANDLER.search(html)
    assert 'style="' not in html  # the site's CSP allows no inline styles either
    assert '<link rel="stylesheet" href="report.css">' in html


def test_citizens_text_is_escaped_in_the_page(history, w11):
    end = at(3, 16, 0)
    HotIssueRun.objects.create(computed_at=end, window_start=end - timedelta(days=7), window_end=end,
                               clusters=[{"rank": 1, "text": "<img src=x onerror=alert(1)>", "size": 3}])
    html = report_html(report_build(w11))
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


# ---------------------------------------------------------------- the command


def test_the_command_writes_both_files_and_prints_their_paths(history, tmp_path):
    out = io.StringIO()
    call_command("report_weekly", period="2026-W11", output=str(tmp_path), stdout=out)
    xlsx, html = tmp_path / "weekly-2026-W11.xlsx", tmp_path / "weekly-2026-W11.html"
    assert str(xlsx) in out.getvalue() and str(html) in out.getvalue()
    assert load_workbook(xlsx).sheetnames == list(SHEETS)
    assert "本周共受理案件 5 件" in html.read_text(encoding="utf-8")
    assert (tmp_path / "report.css").read_bytes() == reports.report_css()


def test_the_command_defaults_to_the_report_directory_and_the_last_month(district, settings, tmp_path):
    settings.CITYOPS_REPORT_DIR = str(tmp_path / "store")
    out = io.StringIO()
    call_command("report_monthly", stdout=out)
    key = report_period_last("monthly").key
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == [f"monthly-{key}.html", f"monthly-{key}.xlsx", "report.css"]


@pytest.mark.parametrize(
    ("command", "period", "message"),
    [
        ("report_monthly", "2026-13", "月份应为 01 至 12"),
        ("report_monthly", "2999-01", "尚未开始"),
        ("report_weekly", "garbage", "格式应为 YYYY-Www"),
        ("report_weekly", "2026-W99", "没有第 99 周"),
    ],
)
def test_the_command_refuses_bad_periods_and_writes_nothing(district, tmp_path, command, period, message):
    target = tmp_path / "out"
    with pytest.raises(CommandError, match=message):
        call_command(command, period=period, output=str(target))
    assert not target.exists()


def test_the_console_command_maps_report_to_the_management_commands():
    assert translate(["report", "weekly", "--period", "2026-W47"]) == ["report_weekly", "--period", "2026-W47"]
    assert translate(["report", "monthly"]) == ["report_monthly"]


# ---------------------------------------------------------------- the schedule


def test_the_schedule_makes_last_weeks_and_last_months_report_once(history, tmp_path):
    monday = at(3, 16, 7)
    assert generate_due_reports(now=monday, directory=tmp_path) == {"weekly": "2026-W11 written", "monthly": "2026-02 written"}
    assert generate_due_reports(now=monday, directory=tmp_path) == {"weekly": "2026-W11 exists", "monthly": "2026-02 exists"}
    assert {p.name for p in tmp_path.iterdir()} == {
        "weekly-2026-W11.xlsx", "weekly-2026-W11.html", "monthly-2026-02.xlsx", "monthly-2026-02.html", "report.css"}


def test_reports_fall_due_at_six_in_the_morning():
    assert [p.key for p in reports.due_periods(at(3, 16, 5, 59))] == ["2026-W10", "2026-02"]
    assert [p.key for p in reports.due_periods(at(3, 16, 6, 0))] == ["2026-W11", "2026-02"]
    assert [p.key for p in reports.due_periods(at(4, 1, 5, 0))] == ["2026-W13", "2026-02"]
    assert [p.key for p in reports.due_periods(at(4, 1, 6, 0))] == ["2026-W13", "2026-03"]


def test_the_periodic_reports_job_is_generate_due_reports():
    from cityops.ops.scheduler import periodic_jobs

    assert next(job for job in periodic_jobs() if job.name == "reports").func is generate_due_reports


# ---------------------------------------------------------------- pages and permissions


@pytest.fixture
def store(settings, tmp_path):
    settings.CITYOPS_REPORT_DIR = str(tmp_path)
    return tmp_path


@pytest.mark.parametrize("role", ["dept", "operator", "inspector"])
def test_department_and_other_users_get_403_for_district_reports(client, people, district, store, role):
    client.force_login(people[role])
    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/generate/?kind=weekly&period=2026-W11&format=xlsx").status_code == 403
    assert client.get("/reports/files/report.css").status_code == 403


def test_anonymous_users_are_sent_to_the_login(client, district):
    response = client.get("/reports/generate/?kind=weekly")
    assert response.status_code == 302 and "/login" in response["Location"]


def test_the_leader_downloads_the_workbook_and_the_download_is_audited(client, people, history):
    client.force_login(people["leader"])
    response = client.get("/reports/generate/?kind=weekly&period=2026-W11&format=xlsx")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="weekly-2026-W11.xlsx"' in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book["概况"]["B5"].value == 5
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT)
    assert entry.actor == people["leader"] and entry.target == "report:weekly-2026-W11:xlsx"


def test_the_dispatcher_opens_the_printable_page(client, people, history):
    client.force_login(people["dispatcher"])
    response = client.get("/reports/generate/?kind=weekly&period=2026-W11&format=html")
    body = response.content.decode()
    assert response.status_code == 200 and "本周共受理案件 5 件" in body
    assert re.search(r'<link rel="stylesheet" href="/static/analytics/report\.css', body)
    assert "/reports/generate/?kind=weekly&amp;period=2026-W11&amp;format=xlsx" in body


@pytest.mark.parametrize(
    ("query", "message"),
    [("kind=monthly&period=2026-13", "月份应为 01 至 12"), ("kind=weekly&period=abc", "格式应为 YYYY-Www"),
     ("kind=weekly&format=pdf", "未知的格式"), ("kind=daily", "未知的报告类型")],
)
def test_bad_input_on_the_page_is_a_400_with_the_message(client, people, district, store, query, message):
    client.force_login(people["leader"])
    response = client.get(f"/reports/generate/?{query}")
    assert response.status_code == 400 and message in response.content.decode()
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


def test_stored_reports_are_listed_and_served(client, people, history, store):
    report_write(report_build(report_period_parse("weekly", "2026-W11")))
    client.force_login(people["leader"])
    page = client.get("/reports/").content.decode()
    assert "/reports/files/weekly-2026-W11.xlsx" in page and "/reports/files/weekly-2026-W11.html" in page
    html = client.get("/reports/files/weekly-2026-W11.html")
    assert html.status_code == 200 and "本周共受理案件 5 件" in b"".join(html.streaming_content).decode()
    assert client.get("/reports/files/report.css").status_code == 200
    xlsx = client.get("/reports/files/weekly-2026-W11.xlsx")
    assert xlsx.status_code == 200 and "attachment" in xlsx["Content-Disposition"]
    for name in ("weekly-2026-W12.xlsx", "weekly-2026-W11.xlsx.bak", "cityops.sqlite3", "..", "%2e%2e%2fsecret_key"):
        assert client.get(f"/reports/files/{name}").status_code == 404


def test_the_dashboard_offers_the_report_button_only_to_those_who_may_use_it(client, people, district):
    client.force_login(people["leader"])
    assert "生成分析报告" in client.get("/dashboard/").content.decode()
    client.force_login(people["operator"])
    assert "生成分析报告" not in client.get("/dashboard/").content.decode()
