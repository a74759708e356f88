"""/api/v1/stats/… and the /dashboard/ and /bigscreen/ pages: who may see them, bad input, and
that they work (session login, as the pages call them)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from cityops.analytics.models import BigScreenSession
from cityops.analytics.tests.support import report

pytestmark = pytest.mark.django_db


@pytest.fixture
def leader_client(client, people):
    client.force_login(people["leader"])
    return client


def test_anonymous_and_department_users_are_refused(client, people, district):
    assert client.get("/api/v1/stats/dashboard").status_code == 401
    client.force_login(people["dept"])
    response = client.get("/api/v1/stats/dashboard")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert client.get("/dashboard/").status_code == 403
    assert client.get("/bigscreen/").status_code == 403


@pytest.mark.parametrize("role", ["leader", "dispatcher", "operator"])
def test_center_roles_see_the_dashboard(client, people, district, role):
    client.force_login(people[role])
    assert client.get("/api/v1/stats/dashboard?period=week").status_code == 200


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=decade", "未知的时段"),
        ("period=custom&from=2026-13-01&to=2026-12-01", "格式不正确"),
        ("period=custom&from=2026-05-01&to=2026-04-01", "开始日期不能晚于结束日期"),
        ("period=custom&from=1990-01-01&to=2026-01-01", "最长可统计 10 年"),
        ("period=today&street=123", "未知的街道编码"),
        ("compare=year", "未知的对比方式"),
    ],
)
def test_bad_input_is_a_clear_400(leader_client, district, query, message):
    response = leader_client.get(f"/api/v1/stats/dashboard?{query}")
    assert response.status_code == 400
    assert message in response.json()["message"]


def test_dashboard_api_with_data(leader_client, district, committed):
    with committed():
        report()
    body = leader_client.get("/api/v1/stats/dashboard?period=today").json()
    assert body["kpis"]["created"] == 1
    assert body["by_street"][0]["link"].startswith("/cases/?")


def test_map_endpoints(leader_client, district, committed):
    with committed():
        report()
    values = leader_client.get("/api/v1/stats/map?period=month&level=community").json()
    assert values["total"] == 1 and len(values["items"]) == 2
    assert leader_client.get("/api/v1/stats/map?level=county").status_code == 400
    points = leader_client.get("/api/v1/stats/map/points?bbox=101.70,36.50,101.90,36.70").json()
    assert points["mode"] == "points" and points["total"] == 1
    layer = leader_client.get("/api/v1/stats/map/layers/grid")
    assert layer.status_code == 200 and layer["Content-Type"].startswith("application/geo+json")
    assert len(layer.json()["features"]) == 2
    again = leader_client.get("/api/v1/stats/map/layers/grid", HTTP_IF_NONE_MATCH=layer["ETag"])
    assert again.status_code == 304
    assert leader_client.get("/api/v1/stats/map/layers/planet").status_code == 400


def test_bigscreen_page_records_a_session_and_the_poll_keeps_it_alive(leader_client, people, district):
    response = leader_client.get("/bigscreen/")
    assert response.status_code == 200
    session = BigScreenSession.objects.get()
    assert session.user == people["leader"]
    BigScreenSession.objects.filter(pk=session.pk).update(last_seen_at=timezone.now() - timezone.timedelta(minutes=5))
    body = leader_client.get(f"/api/v1/stats/bigscreen?after=0&session={session.pk}").json()
    assert "ticker" in body and "targets" in body
    session.refresh_from_db()
    assert session.polls == 1 and (timezone.now() - session.last_seen_at).total_seconds() < 60
    data = leader_client.get("/api/v1/stats/dashboard?period=today").json()
    assert data["kpis"]["bigscreen_sessions"] == 1


def test_dashboard_page_renders_with_data_and_empty(leader_client, district, committed):
    page = leader_client.get("/dashboard/")
    assert page.status_code == 200
    content = page.content.decode()
    assert 'id="dash-data"' in content and "态势看板" in content
    assert "没有上报案件" in content  # empty today: a clear message, not an error
    with committed():
        report()
    page = leader_client.get("/dashboard/?period=month&compare=week")
    assert page.status_code == 200 and "上周同期" in page.content.decode()


def test_dashboard_page_explains_bad_input(leader_client, district):
    page = leader_client.get("/dashboard/?period=custom&from=2026-02-30&to=2026-03-01")
    assert page.status_code == 200
    assert "格式不正确" in page.content.decode()
    page = leader_client.get("/dashboard/?street=nowhere")
    assert page.status_code == 200 and "未知的街道编码" in page.content.decode()


def test_hot_issues_and_anomalies_endpoints(leader_client, district, committed):
    with committed():
        for i in range(3):
            report(text="小区暖气不热，室温只有十二度，老人孩子受冻", phone=f"1380000010{i}")
    hot = leader_client.get("/api/v1/stats/hot-issues").json()
    assert hot["clusters"] and hot["clusters"][0]["size"] == 3
    alerts = leader_client.get("/api/v1/stats/anomalies").json()
    assert "基线不足" in alerts["message"]
    assert leader_client.get("/api/v1/stats/anomalies?day=yesterday").status_code == 400
    assert leader_client.get("/api/v1/stats/targets").status_code == 200


def test_navigation_offers_the_pages_to_the_center(leader_client):
    home = leader_client.get("/").content.decode()
    assert "/dashboard/" in home and "/bigscreen/" in home
