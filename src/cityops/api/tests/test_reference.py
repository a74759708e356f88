"""Reference endpoints and API-wide behaviour: docs, unknown routes, JSON for every error."""

import pytest

from cityops.api.tests.client import ApiClient
from cityops.cases.tests.factories import DepartmentFactory, LeafCategoryFactory
from cityops.catalog.models import Category, CategorySystem

pytestmark = pytest.mark.django_db


def test_categories_list_codes_with_parent_level_and_leaf_flag(as_role):
    leaf = LeafCategoryFactory(code="E9901", name="暴露垃圾")
    Category.objects.create(code="H01", name="城乡建设", system=CategorySystem.HOTLINE, kind="demand")
    Category.objects.create(code="E9999", name="已停用", system=CategorySystem.URBAN, kind="event", active=False)
    client = as_role("dept")
    rows = {c["code"]: c for c in client.get("/categories").json()}
    assert set(rows) == {"E99", "E9901", "H01"}
    assert rows["E9901"] == {"code": "E9901", "name": "暴露垃圾", "system": "urban", "kind": "event",
                             "parent": "E99", "level": 2, "is_leaf": True}
    assert rows["E99"]["is_leaf"] is False and rows["E99"]["parent"] is None
    assert [c["code"] for c in client.get("/categories", {"leaf": "true"}).json()] == ["H01", leaf.code]
    assert [c["code"] for c in client.get("/categories", {"system": "hotline"}).json()] == ["H01"]
    assert client.get("/categories", {"system": "police"}).status_code == 400


def test_departments_list_active_departments_with_codes_and_names(as_role, department):
    DepartmentFactory(code="closed", name="已撤销", active=False)
    rows = as_role("inspector").get("/departments").json()
    codes = {d["code"]: d for d in rows}
    assert "closed" not in codes
    assert codes["chengguan"]["name"] == "区城市管理局" and codes["chengguan"]["kind"] == "functional"


def test_reference_endpoints_need_a_token(db):
    for path in ("/categories", "/departments", "/cases", "/cases/CD20260101-0001"):
        response = ApiClient().get(path)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"


def test_unknown_routes_and_wrong_methods_answer_json(as_role):
    client = as_role("operator")
    response = client.get("/nothing/here")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    response = client.client.get("/api/v2/cases")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
    response = client.delete("/departments")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


def test_unexpected_errors_are_logged_and_answered_as_json_500(as_role, monkeypatch, caplog):
    def boom(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("cityops.api.cases.case_get", boom)
    response = as_role("leader").get("/cases/CD20260101-0001")
    assert response.status_code == 500
    assert response.json() == {"code": "server_error", "message": "服务器内部错误，请稍后重试。", "details": None}
    assert "database on fire" in caplog.text


def test_openapi_docs_are_served(db):
    client = ApiClient().client
    assert client.get("/api/docs").status_code == 200
    schema = client.get("/api/openapi.json").json()
    assert "/api/v1/cases/{number}/actions/{action}" in schema["paths"]
    assert "/api/v1/auth/token" in schema["paths"]


def test_api_root_points_to_the_docs(db):
    body = ApiClient().client.get("/api/").json()
    assert body["docs"] == "/api/docs" and body["openapi"] == "/api/openapi.json"
