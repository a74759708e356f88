"""Personal data typed into case texts never reaches the wall displays and documents in clear:
the big-screen ticker and alarms, the dashboard's overdue list, hot issues and the analysis
reports mask it for everyone — also for operators and dispatchers, who may see it on the case
page (a wall screen is seen by whoever stands in the hall; a report travels)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from cityops.analytics.hotissues import (
    Doc,
    cluster_docs,
    hot_issues_latest,
    hot_issues_refresh,
    keywords,
    rank,
)
from cityops.analytics.models import HotIssueRun
from cityops.analytics.reports import report_build, report_html, report_period_parse, report_xlsx
from cityops.analytics.selectors import overdue_cases
from cityops.analytics.tests.support import HEATING, WEST, report
from cityops.cases.models import Case

pytestmark = pytest.mark.django_db

TEXT = "联系电话13812345678 身份证11010519491231002X"
MASKED = "联系电话138****5678 身份证110105********002X"


@pytest.mark.parametrize("role", ["leader", "operator"])
def test_the_big_screen_ticker_masks_phone_and_id_typed_into_the_description(client, people, district, committed, role):
    with committed():
        case = report(text=f"{TEXT} 垃圾")
    client.force_login(people[role])
    response = client.get("/api/v1/stats/bigscreen?after=0")
    assert response.status_code == 200
    body = response.content.decode()
    assert "13812345678" not in body and "11010519491231002X" not in body
    assert [row["title"] for row in response.json()["ticker"] if row["number"] == case.number] == [f"{MASKED[:29]}…"]
    assert Case.objects.get(pk=case.pk).description == f"{TEXT} 垃圾"  # the stored text stays


def test_overdue_alarms_and_the_dashboard_list_mask_the_text(people, district, committed):
    with committed():
        case = report(text=TEXT)
    Case.objects.filter(pk=case.pk).update(title="")
    from cityops.analytics.models import OpenCase

    OpenCase.objects.filter(case_id=case.pk).update(deadline=datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")), paused=False)
    Case.objects.filter(pk=case.pk).update(deadline=datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")))
    rows = overdue_cases(datetime(2026, 6, 1, tzinfo=ZoneInfo("UTC")))
    assert [r["title"] for r in rows] == [MASKED[:35] + "…"]


def test_hot_issues_show_their_representative_text_masked(people, district, committed):
    with committed():
        for i, text in enumerate(HEATING):
            report(text=f"{text}，{TEXT}", phone=f"1390000000{i}", lonlat=WEST)
    run = hot_issues_refresh()
    assert run.clusters and "13812345678" not in str(run.clusters) and "138****5678" in run.clusters[0]["text"]


def test_hot_issue_keywords_never_carry_an_id_number_repeated_in_the_reports():
    docs = [Doc(key=i, text=f"{text}，身份证11010519491231002X", reporter=f"r{i}") for i, text in enumerate(HEATING)]
    top = rank(cluster_docs(docs))[0]
    assert "暖气" in keywords(top) and not any("11010519491231002" in k for k in keywords(top))


def test_a_hot_issue_run_stored_before_masking_is_masked_when_read(district):
    HotIssueRun.objects.create(computed_at=datetime.now(ZoneInfo("UTC")), window_start=datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")),
                               window_end=datetime.now(ZoneInfo("UTC")), clusters=[{"rank": 1, "text": TEXT, "size": 3}])
    assert [c["text"] for c in hot_issues_latest(compute_if_small=0)["clusters"]] == [MASKED]


def test_the_report_page_and_workbook_mask_the_hot_issue_text(district):
    period = report_period_parse("weekly", "2026-W11")
    end = datetime(2026, 3, 16, tzinfo=ZoneInfo("Asia/Shanghai"))
    HotIssueRun.objects.create(computed_at=end + timedelta(hours=6), window_start=end - timedelta(days=7, hours=-6),
                               window_end=end + timedelta(hours=6),
                               clusters=[{"rank": 1, "text": TEXT, "size": 4, "previous": 1, "growth": 3, "representative": "CD1"}])
    built = report_build(period)
    assert [h.text for h in built.hot] == [MASKED]
    html = report_html(built, css_href="/static/analytics/report.css", toolbar=None)
    assert MASKED in html and "13812345678" not in html
    sheet = load_workbook(io.BytesIO(report_xlsx(built)))["热点诉求"]
    cells = [c.value for row in sheet.iter_rows() for c in row if c.value]
    assert MASKED in cells and not any("13812345678" in str(v) for v in cells)
