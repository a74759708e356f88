"""Dashboard, map and big-screen figures on a small fixed history, and bad input."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone

from cityops.analytics import selectors
from cityops.analytics.periods import period_parse
from cityops.analytics.reads import pieces
from cityops.analytics.tests.support import EAST, report, walk
from cityops.cases.models import Case, Channel
from cityops.cases.states import Action
from cityops.cases.workflow import case_transition

pytestmark = pytest.mark.django_db


def q(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


@pytest.fixture
def history(district, people, category, other_category, department, committed):
    """Today: 3 cases in street 1 (2 hotline, 1 web; one closed and rated), 1 in street 2.
    Eight days ago: 1 case in street 1 (for the comparison with last week)."""
    now = timezone.now()
    with committed():
        a = report(category=category)
        b = report(category=category, phone="13800000002")
        c = report(category=other_category, channel=Channel.WEB, phone="13800000003")
        d = report(lonlat=EAST, category=category, phone="13800000004")
        old = report(category=category, now=now - timedelta(days=7))
    with committed():
        walk(a, people, category, department)
    return {"a": a, "b": b, "c": c, "d": d, "old": old}


def test_dashboard_counts_today(history, district, category):
    data = selectors.dashboard(period_parse("today"))
    k = data["kpis"]
    assert k["created"] == 4
    assert k["created_compare"] == 1  # same weekday last week
    assert k["closed"] == 1 and k["dispatched"] == 1
    assert k["satisfaction_rate"] == 100.0 and k["callbacks"] == 1
    assert k["open_now"] == 4  # a is closed: b, c, d and the old one are open
    channels = {i["key"]: i["value"] for i in data["by_channel"]}
    assert channels == {Channel.HOTLINE: 3, Channel.WEB: 1}
    streets = {i["name"]: i["value"] for i in data["by_street"]}
    assert streets == {"第1街道": 3, "第2街道": 1}
    top = data["top_categories"][0]
    assert top["name"] == "暴露垃圾" and top["value"] == 3
    assert sum(data["trend"]["current"][: timezone.localtime().hour + 1]) == 4


def test_every_item_links_to_its_case_list(history, district, category):
    today = timezone.localdate().isoformat()
    data = selectors.dashboard(period_parse("today"))
    web = next(i for i in data["by_channel"] if i["key"] == Channel.WEB)
    assert q(web["link"]) == {"channel": "web", "created_from": today, "created_to": today}
    street1 = next(i for i in data["by_street"] if i["name"] == "第1街道")
    assert q(street1["link"])["street"] == district["street1"].code
    # a leaf category links to the nearest category the list can filter on (its 大类)
    top = data["top_categories"][0]
    assert q(top["link"])["category"] == "E99" and top["exact"] is False
    red = next(i for i in data["sla_mix"] if i["key"] == "red")
    assert q(red["link"]) == {"sla": "red"}
    # the numbers behind a link are the list's numbers
    for item in data["by_channel"]:
        assert Case.objects.filter(channel=item["key"], created_at__date__gte=timezone.localdate() - timedelta(days=1)).count() >= item["value"]


def test_one_street(history, district):
    data = selectors.dashboard(period_parse("today"), street=district["street2"].code)
    assert data["kpis"]["created"] == 1
    assert data["street"]["name"] == "第2街道"
    assert all("street=630102002" in i["link"] for i in data["by_channel"])


def test_a_street_with_no_cases_is_empty_not_an_error(district):
    data = selectors.dashboard(period_parse("month"), street=district["street2"].code)
    assert data["empty"] and data["kpis"]["created"] == 0
    assert any("没有上报案件" in n for n in data["notes"])
    assert data["by_channel"] == [] and data["overdue"] == []


def test_unknown_street_is_a_clear_error(district):
    with pytest.raises(selectors.StatsInputError, match="未知的街道编码"):
        selectors.dashboard(period_parse("today"), street="999999999")


def test_future_and_ten_year_ranges(history):
    today = timezone.localdate()
    future = selectors.dashboard(period_parse("custom", today + timedelta(days=10), today + timedelta(days=20)))
    assert future["kpis"]["created"] == 0 and "尚未到来" in " ".join(future["notes"])
    decade = selectors.dashboard(period_parse("custom", today - timedelta(days=3650), today))
    assert decade["kpis"]["created"] == 5
    assert decade["trend"]["granularity"] == "month" and sum(decade["trend"]["current"]) == 5


def test_month_ranges_read_whole_months_from_the_monthly_table(history):
    today = timezone.localdate()
    start = (today.replace(day=1) - timedelta(days=70)).replace(day=15)
    days, months = pieces(start, today)
    assert months is not None and months[0].day == 1
    assert days[0][0] == start
    data = selectors.counts(start, today, ["total"])
    assert data["total"][""] == 5


def test_map_values_and_points(history, district):
    data = selectors.map_values(period_parse("today"), level="street", metric="count")
    values = {i["code"]: i["value"] for i in data["items"]}
    assert values == {district["street1"].code: 3, district["street2"].code: 1}
    density = selectors.map_values(period_parse("today"), level="grid", metric="density")
    assert {i["value"] for i in density["items"]} == {0.8, 0.2}  # per km² of a 4 km² grid
    points = selectors.map_points()
    assert points["mode"] == "points" and points["total"] == 4
    clusters = selectors.map_points(limit=2)
    assert clusters["mode"] == "clusters" and sum(c["count"] for c in clusters["clusters"]) == 4
    with pytest.raises(selectors.StatsInputError):
        selectors.map_points(bbox="1,2,3")
    with pytest.raises(selectors.StatsInputError):
        selectors.map_values(period_parse("today"), level="planet")


def test_sla_mix_and_overdue_follow_the_clock(history):
    later = timezone.now() + timedelta(days=30)
    mix = selectors.sla_mix(later)
    assert mix["red"] == mix["total"] == 4
    overdue = selectors.overdue_cases(later)
    assert len(overdue) == 4 and overdue[0]["overdue_hours"] > 0


def test_bigscreen_marks_new_cases(history, committed):
    first = selectors.bigscreen()
    assert first["today"]["created"] == 4
    with committed():
        new = report(text="路灯不亮，晚上很黑", phone="13800000009")
    later = selectors.bigscreen(after=first["latest_id"])
    assert later["ticker"][0]["number"] == new.number and later["ticker"][0]["new"]
    assert later["new_count"] == 1 and later["today"]["created"] == 5


def test_targets_panel_has_live_values(history):
    rows = selectors.targets_panel()
    assert rows and all("name" in r and "actual" in r for r in rows)


def test_reject_and_reopen_counts(history, people, committed):
    with committed():
        case_transition(case=history["b"], action=Action.REJECT, actor=people["operator"], data={"note": "无效"})
    data = selectors.dashboard(period_parse("today"))
    status = {i["key"]: i["value"] for i in data["status_mix"]}
    assert status["rejected"] == 1
