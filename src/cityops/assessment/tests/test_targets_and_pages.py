"""The center's targets measured on the fixed history, and the pages and API showing them."""

from datetime import date
from decimal import Decimal

import pytest

from cityops.assessment.models import PerformanceTarget, TargetManualValue
from cityops.assessment.selectors import targets_status
from cityops.assessment.targets import targets_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def targets(history):
    result = targets_load()
    assert (result.year, result.created) == (2024, 24)
    return {t.code: t for t in PerformanceTarget.objects.all()}


def by_code(rows):
    return {r.code: r for r in rows}


def test_loading_is_idempotent_and_copies_the_published_facts(targets):
    again = targets_load()
    assert (again.created, again.updated, again.deactivated) == (0, 24, 0)
    t = targets["2024-dept-dispatch-accuracy"]
    assert (t.level1, t.level2, t.name, t.op, t.value, t.unit, t.weight, t.metric) == (
        "产出指标", "质量指标", "每日工单转办、派发准确率", ">=", Decimal("98"), "%", Decimal("10"), "dispatch_accuracy"
    )
    assert targets["2024-ops-city-hotline"].period == "year"
    assert targets["2024-dept-economy"].value is None and targets["2024-dept-economy"].value_text == "持续推动"
    # As published: the seven department-level targets carry 90 of the 100 points.
    assert sum(t.weight for t in targets.values() if t.group == "department") == 90


def test_targets_status_over_march(targets, history):
    TargetManualValue.objects.create(target=targets["2024-line-calls"], period_start=date(2026, 3, 1), period_end=date(2026, 3, 31), value=Decimal("120"))
    TargetManualValue.objects.create(target=targets["2024-dept-social"], period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), achieved=True)
    rows = by_code(targets_status(date(2026, 3, 1), date(2026, 3, 31)))
    assert len(rows) == 24

    def check(code, value, met, source="live"):
        row = rows[code]
        assert (row.value, row.met, row.source) == (value, met, source), code

    check("2024-dept-dispatched-per-day", Decimal("0.32"), False)  # 10 dispatches ÷ 31 days
    check("2024-dept-dispatch-accuracy", Decimal("90.0"), False)  # c5 returned as mis-dispatched: 9 ÷ 10
    check("2024-dept-satisfaction", Decimal("50.0"), False)  # 1 satisfied of 2 callbacks
    check("2024-line-resolution", Decimal("71.4"), False)  # closed 5 of 7 due
    check("2024-ops-inspectors", Decimal("2"), False)
    check("2024-idc-video-cases", Decimal("0.00"), False)
    check("2024-line-calls", Decimal("120"), True, "manual")
    check("2024-dept-social", None, True, "manual")
    check("2024-dept-cost", None, None, "none")
    hotline = rows["2024-ops-city-hotline"]  # c1 came from the city's 12345 platform
    assert (hotline.value, hotline.met) == (Decimal("1"), False)
    assert "1529" in hotline.note  # 18000 × 31 / 365, the goal pro-rated to the period
    assert hotline.progress == Decimal("0.0")
    screen = rows["2024-screen-sessions"]  # the analytics app's BigScreenSession, if installed
    assert screen.met is None or screen.value == Decimal("0.00")
    row = rows["2024-dept-dispatch-accuracy"]
    assert (row.name, row.unit, row.op, row.target, row.weight, row.level1, row.level2, row.metric) == (
        "每日工单转办、派发准确率", "%", ">=", Decimal("98"), Decimal("10"), "产出指标", "质量指标", "dispatch_accuracy"
    )


def test_targets_status_on_odd_ranges(targets):
    future = by_code(targets_status(date(2999, 1, 1), date(2999, 1, 31)))
    assert future["2024-dept-dispatched-per-day"].value is None and future["2024-dept-dispatched-per-day"].met is None
    swapped = targets_status(date(2026, 3, 31), date(2026, 3, 1))
    assert by_code(swapped)["2024-dept-dispatch-accuracy"].value == Decimal("90.0")
    empty = by_code(targets_status(date(2020, 1, 1), date(2020, 1, 31)))
    assert empty["2024-dept-satisfaction"].met is None and "无确定满意度结果的案件" in empty["2024-dept-satisfaction"].note


def test_ranking_page_shows_figures_with_their_definitions(client, history):
    client.force_login(history.people["leader"])
    page = client.get("/assessment/", {"kind": "department", "month": "2026-03"})
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("71.5", "80.0%", "4/5", "▼ 28.5", "处置数 ÷ 应处置数 × 100%", "退单数 ÷ 派遣数 × 100%", "应处置数", "区住建局"):
        assert text in html, text
    assert 'id="score-data"' in html


@pytest.mark.parametrize("kind", ["street", "inspector", "operator", "dispatcher"])
def test_every_tab_renders(client, history, kind):
    client.force_login(history.people["disp"])
    page = client.get("/assessment/", {"kind": kind, "month": "2026-03"})
    assert page.status_code == 200 and "指标定义" in page.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"month": "2999-01"}, "尚未开始"),
        ({"month": "13-2026"}, "YYYY-MM"),
        ({"month": "2025-06"}, "暂无"),
        ({"kind": "nobody"}, "考核对象无效"),
    ],
)
def test_ranking_page_bad_input_gives_a_message(client, history, params, message):
    client.force_login(history.people["leader"])
    page = client.get("/assessment/", params)
    assert page.status_code == 200 and message in page.content.decode()


def test_targets_page(client, targets, history):
    client.force_login(history.people["leader"])
    page = client.get("/targets/", {"range": "custom", "start": "2026-03-01", "end": "2026-03-31"})
    html = page.content.decode()
    assert page.status_code == 200
    for text in ("每日工单转办、派发准确率", "90.0", "未达成", "平台实时", "待填报", "西宁市城东区城市运行“一网统管”运营服务项目"):
        assert text in html, text
    long = client.get("/targets/", {"range": "custom", "start": "2016-01-01", "end": "2026-03-31"})
    assert long.status_code == 200 and "最长 366 天" in long.content.decode()
    bad = client.get("/targets/", {"range": "custom", "start": "yesterday", "end": ""})
    assert bad.status_code == 200 and "请填写有效的开始和结束日期" in bad.content.decode()


def test_api_ranking_and_targets(client, targets, history):
    client.force_login(history.people["leader"])
    body = client.get("/api/v1/stats/assessment/ranking", {"kind": "department", "month": "2026-03"}).json()
    a = next(r for r in body["rows"] if r["name"] == "区城管局")
    assert (a["score"], a["grade"], a["rank"], a["change"], a["previous_score"]) == (71.5, "C", 2, -28.5, 100.0)
    assert {f["code"]: f["value"] for f in a["figures"]}["return_rate"] == 0.0  # c5 is the dispatcher's mis-dispatch
    assert body["closed"] is True and body["previous_month"] == "2026-02"
    future = client.get("/api/v1/stats/assessment/ranking", {"month": "2999-01"})
    assert future.status_code == 400 and future.json()["code"] == "invalid_period"
    rows = client.get("/api/v1/stats/assessment/targets", {"start": "2026-03-01", "end": "2026-03-31"}).json()
    assert next(r for r in rows if r["code"] == "2024-dept-dispatch-accuracy")["value"] == 90.0
    too_long = client.get("/api/v1/stats/assessment/targets", {"start": "2016-01-01", "end": "2026-03-31"})
    assert too_long.status_code == 400 and "366" in too_long.json()["message"]
    definitions = client.get("/api/v1/stats/assessment/indicators", {"kind": "street"}).json()
    assert {i["code"]: i["weight"] for i in definitions["indicators"]}["closure_on_time_rate"] == 40
