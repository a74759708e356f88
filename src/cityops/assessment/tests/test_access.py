"""Who may open the assessment pages and data endpoints; empty states on an empty database."""

import pytest
from django.test import Client

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db

PAGES = ["/assessment/", "/targets/"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role", ["leader", "dispatcher"])
def test_leaders_and_dispatchers_may_open_the_pages(client, path, role):
    client.force_login(UserFactory(role=role))
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role", ["department", "operator", "inspector", "sysadmin"])
def test_other_roles_get_403(client, path, role):
    extra = {"department": DepartmentFactory()} if role == "department" else {}
    client.force_login(UserFactory(role=role, **extra))
    page = client.get(path)
    assert page.status_code == 403 and "无权访问" in page.content.decode()


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_login(client, path):
    page = client.get(path)
    assert page.status_code == 302 and "login" in page["Location"] and "next=" in page["Location"]


def test_empty_database_shows_empty_states(client):
    client.force_login(UserFactory(role="leader"))
    ranking = client.get("/assessment/").content.decode()
    assert "暂无处置部门考核数据" in ranking and "指标定义" in ranking
    targets = client.get("/targets/").content.decode()
    assert "尚未加载绩效目标" in targets and "assessment_load_targets" in targets


def test_menu_offers_the_pages_to_leaders_only(client):
    client.force_login(UserFactory(role="leader"))
    home = client.get("/").content.decode()
    assert 'href="/assessment/"' in home and 'href="/targets/"' in home
    other = Client()
    other.force_login(UserFactory(role="operator"))
    assert 'href="/assessment/"' not in other.get("/").content.decode()


@pytest.mark.parametrize("path", ["/api/v1/stats/assessment/ranking", "/api/v1/stats/assessment/targets", "/api/v1/stats/assessment/indicators"])
def test_api_needs_a_reader(client, path):
    assert client.get(path).status_code == 401
    client.force_login(UserFactory(role="department", department=DepartmentFactory()))
    refused = client.get(path)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


def test_api_with_bearer_token_and_bad_kind(client):
    from cityops.api.tokens import token_issue

    issued = token_issue(user=UserFactory(role="dispatcher"), name="test")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issued.token}"}
    ok = client.get("/api/v1/stats/assessment/ranking", **headers)
    assert ok.status_code == 200 and ok.json()["rows"] == [] and "暂无" in ok.json()["message"]
    bad = client.get("/api/v1/stats/assessment/ranking", {"kind": "mayor"}, **headers)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_kind"
