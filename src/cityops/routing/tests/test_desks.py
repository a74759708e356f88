"""The operator and dispatcher desks show the router's top-3, department and rule."""

from django.urls import reverse

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.tests.factories import make_case
from cityops.cases.workflow import case_transition

SCHOOL = "学校老师周末违规补课收费，学生家长反映多次"


def test_dispatcher_queue_shows_top3_and_matrix_department(client, hotline, active_model):
    from cityops.routing.models import RoutingSettings

    RoutingSettings(auto_dispatch_enabled=False).save()  # keep the case in the queue
    operator = UserFactory(role="operator")
    case = make_case(category=hotline["leaves"]["H03"], description=SCHOOL)
    case_transition(case=case, action="register", actor=operator)
    client.force_login(UserFactory(role="dispatcher"))
    html = client.get(reverse("cases:desk_dispatcher")).content.decode()
    assert f"智能分拨 v{active_model.version}" in html
    assert "教育文体" in html and "区教育局" in html
    assert 'name="department" value="jiaoyu"' in html  # the one-click confirm


def test_operator_suggestions_offer_the_predicted_class(client, hotline, active_model):
    from cityops.catalog.selectors import suggestion_index_changed

    suggestion_index_changed()
    client.force_login(UserFactory(role="operator"))
    html = client.get(reverse("cases:suggest_categories"), {"description": SCHOOL + " 教育文体小类"}).content.decode()
    assert "智能分拨预测" in html
    assert 'data-pick-category="H030101"' in html


def test_operator_created_card_shows_the_proposal(client, hotline, active_model):
    operator = UserFactory(role="operator")
    case = make_case(description=SCHOOL)
    client.force_login(operator)
    html = client.get(reverse("cases:desk_operator"), {"created": case.number}).content.decode()
    assert "智能分拨 v" in html and "区教育局" in html


def test_desks_work_without_a_model(client, hotline):
    client.force_login(UserFactory(role="dispatcher"))
    assert client.get(reverse("cases:desk_dispatcher")).status_code == 200
