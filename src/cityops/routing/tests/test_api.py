import pytest

from cityops.accounts.tests.factories import UserFactory
from cityops.api.tests.client import ApiClient
from cityops.cases.tests.factories import make_case

SCHOOL = "学校老师周末违规补课收费，学生家长反映多次"


@pytest.fixture
def dispatcher_api(db):
    return ApiClient(UserFactory(role="dispatcher"))


def test_predict_returns_top3_with_names_and_confidence(hotline, active_model, dispatcher_api):
    response = dispatcher_api.post("/routing/predict", {"text": SCHOOL})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["model_version"] == active_model.version
    assert body["top3"][0]["category"] == "H03"
    assert body["top3"][0]["name"] == "教育文体"
    assert body["confident"] is True and body["low_quality_text"] is False


def test_predict_on_garbage_is_never_confident(active_model, dispatcher_api):
    body = dispatcher_api.post("/routing/predict", {"text": "😀"}).json()
    assert body["confident"] is False and body["low_quality_text"] is True


def test_predict_without_a_model_answers_empty(dispatcher_api):
    body = dispatcher_api.post("/routing/predict", {"text": SCHOOL}).json()
    assert body["top3"] == [] and body["model_version"] is None


def test_case_proposal_names_department_and_rule(hotline, active_model, dispatcher_api):
    case = make_case(category=hotline["leaves"]["H03"], description=SCHOOL)
    response = dispatcher_api.get(f"/routing/cases/{case.number}/proposal")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["department"] == {"code": "jiaoyu", "name": "区教育局"}
    assert "权责清单" in body["rule"] and body["source"] == "rule"
    assert body["agrees_with_category"] is True
    assert body["auto_dispatch"] is False  # not registered yet


def test_department_users_may_not_use_routing(hotline, active_model, db):
    api = ApiClient(UserFactory(role="department", department=hotline["departments"]["H01"]))
    assert api.post("/routing/predict", {"text": SCHOOL}).status_code == 403


def test_unknown_case_is_404(active_model, dispatcher_api):
    assert dispatcher_api.get("/routing/cases/CD20990101-0001/proposal").status_code == 404
