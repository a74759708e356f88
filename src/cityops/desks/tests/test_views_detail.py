"""Case detail: scope (404), masking, and action forms offered == permissions.available_actions."""

import pytest
from django.urls import reverse

from cityops.cases.permissions import available_actions
from cityops.cases.states import Action
from cityops.cases.tests.factories import make_case
from cityops.testing.workflow import dispatched, offered_actions, registered, responded

pytestmark = pytest.mark.django_db


def detail(client, user, case):
    client.force_login(user)
    return client.get(reverse("cases:detail", args=[case.number]))


def test_another_departments_case_is_404(client, people, category, other_department):
    case = dispatched(people, category, other_department)
    assert detail(client, people["dept"], case).status_code == 404
    assert detail(client, people["other_dept"], case).status_code == 200


def test_a_new_case_is_404_for_departments_and_admins(client, people, category):
    case = make_case(category=category)
    for role in ("dept", "sysadmin", "auditor"):
        assert detail(client, people[role], case).status_code == 404


def test_unknown_number_is_404(client, people):
    client.force_login(people["operator"])
    assert client.get(reverse("cases:detail", args=["CD19990101-0001"])).status_code == 404


def test_operator_is_offered_register_but_not_dispatch_on_a_new_case(client, people, category):
    case = make_case(category=category)
    html = detail(client, people["operator"], case).content.decode()
    offered = offered_actions(html)
    assert "register" in offered and "dispatch" not in offered
    assert offered == {a.value for a in available_actions(people["operator"], case)}


def test_dispatcher_is_offered_dispatch_with_the_version_it_saw(client, people, category):
    case = registered(people, category)
    html = detail(client, people["dispatcher"], case).content.decode()
    assert offered_actions(html) == {a.value for a in available_actions(people["dispatcher"], case)}
    assert "dispatch" in offered_actions(html)
    assert f'name="version" value="{case.version}"' in html


@pytest.mark.parametrize("role", ["operator", "dispatcher", "leader", "inspector", "dept"])
def test_forms_offered_equal_available_actions_in_each_state(client, people, category, department, role):
    cases = [make_case(category=category), registered(people, category), dispatched(people, category, department),
             responded(people, category, department)]
    for case in cases:
        response = detail(client, people[role], case)
        if response.status_code == 404:
            continue
        expected = {a.value for a in available_actions(people[role], case)}
        assert offered_actions(response.content.decode()) == expected, (role, case.status)


def test_department_sees_sign_on_its_dispatched_case_and_no_buttons_once_responded(client, people, category, department):
    case = dispatched(people, category, department)
    assert offered_actions(detail(client, people["dept"], case).content.decode()) == {"sign", "return"}
    done = responded(people, category, department)
    html = detail(client, people["dept"], done).content.decode()
    assert offered_actions(html) == set()
    assert "没有可执行的操作" in html


@pytest.mark.parametrize(("role", "may_reveal"), [("leader", False), ("dept", False), ("operator", True), ("dispatcher", True)])
def test_reporter_is_masked_by_default_and_only_some_roles_may_reveal_it(client, people, category, department, role, may_reveal):
    from cityops.audit.models import AuditAction, AuditEntry

    case = dispatched(people, category, department, reporter_phone="13812341234", reporter_name="张三")
    html = detail(client, people[role], case).content.decode()
    assert "13812341234" not in html and "138****1234" in html and "张三" not in html
    assert ("查看完整信息" in html) is may_reveal
    response = client.post(reverse("cases:reporter_reveal", args=[case.number]), HTTP_HX_REQUEST="true")
    revealed = AuditEntry.objects.filter(action=AuditAction.VIEW_PERSONAL_DATA, target=f"case:{case.number}")
    if may_reveal:
        assert response.status_code == 200 and "13812341234" in response.content.decode()
        entry = revealed.get()
        assert entry.actor == people[role] and entry.details == {"fields": ["reporter_name", "reporter_phone"], "via": "web"}
    else:
        assert response.status_code == 403 and not revealed.exists()


def test_detail_shows_timeline_with_labels(client, people, category, department):
    case = dispatched(people, category, department)
    html = detail(client, people["leader"], case).content.decode()
    for text in ("上报", "立案", "派遣", department.name):
        assert text in html


def test_htmx_reload_returns_only_the_detail_body(client, people, category):
    case = make_case(category=category)
    client.force_login(people["operator"])
    response = client.get(reverse("cases:detail", args=[case.number]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="case-detail")
    html = response.content.decode()
    assert html.lstrip().startswith("<div id=\"case-detail\"") or 'id="case-detail"' in html[:200]
    assert "<html" not in html


def test_action_form_fragment_is_refused_when_the_action_is_not_available(client, people, category):
    case = make_case(category=category)
    client.force_login(people["operator"])
    response = client.get(reverse("cases:action", args=[case.number, Action.DISPATCH]), HTTP_HX_REQUEST="true")
    assert "不能对该案件执行" in response.content.decode()
    ok = client.get(reverse("cases:action", args=[case.number, Action.REJECT]), HTTP_HX_REQUEST="true")
    assert 'data-action="reject"' in ok.content.decode()
