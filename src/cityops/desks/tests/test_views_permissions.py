"""Permission matrix of every desk page: anonymous → login, each role → 200 or 403."""

import pytest
from django.urls import reverse

from cityops.accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["operator", "dispatcher", "leader", "inspector", "dept", "other_dept", "sysadmin", "auditor"]

ALLOWED = {
    "cases:desk_operator": {"operator"},
    "cases:desk_dispatcher": {"dispatcher"},
    "cases:desk_department": {"dept", "other_dept"},
    "cases:desk_leader": {"leader"},
    "cases:list": {"operator", "dispatcher", "leader", "inspector", "dept", "other_dept"},
    "cases:notifications": set(ROLES),
    "cases:notification_count": set(ROLES),
    "cases:suggest_categories": {"operator"},
}


@pytest.mark.parametrize("url_name", list(ALLOWED))
def test_anonymous_is_sent_to_login(client, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url_name", list(ALLOWED))
def test_each_role_gets_its_desks_and_a_403_elsewhere(client, people, url_name, role):
    client.force_login(people[role])
    response = client.get(reverse(url_name))
    expected = 200 if role in ALLOWED[url_name] else 403
    assert response.status_code == expected
    if expected == 403:
        assert "无权访问" in response.content.decode()


@pytest.mark.parametrize("tab", ["dispatch", "extension", "suspended", "verify", "review", "overdue"])
def test_every_dispatcher_tab_renders(client, people, tab):
    client.force_login(people["dispatcher"])
    response = client.get(reverse("cases:desk_dispatcher"), {"tab": tab})
    assert response.status_code == 200
    assert f'data-tab="{tab}"' in response.content.decode()


@pytest.mark.parametrize(("url_name", "role", "tabs"), [
    ("cases:desk_operator", "operator", ["new", "callback"]),
    ("cases:desk_department", "dept", ["sign", "handling", "all"]),
    ("cases:desk_leader", "leader", ["all", "supervised", "overdue"]),
])
def test_every_tab_of_the_other_desks_renders(client, people, url_name, role, tabs):
    client.force_login(people[role])
    for tab in tabs:
        response = client.get(reverse(url_name), {"tab": tab})
        assert response.status_code == 200
        assert f'data-tab="{tab}"' in response.content.decode()


def test_a_department_user_without_a_department_is_refused(client, db):
    client.force_login(UserFactory(role="department"))
    response = client.get(reverse("cases:desk_department"))
    assert response.status_code == 403
    assert "未关联处置部门" in response.content.decode()


def test_a_superuser_may_open_every_desk(client, db):
    client.force_login(UserFactory(is_superuser=True))
    for name in ("cases:desk_operator", "cases:desk_dispatcher", "cases:desk_leader", "cases:list"):
        assert client.get(reverse(name)).status_code == 200


def test_desks_appear_on_the_home_page_for_their_roles(client, people):
    client.force_login(people["dispatcher"])
    html = client.get(reverse("web:home")).content.decode()
    assert reverse("cases:desk_dispatcher") in html
    assert reverse("cases:desk_operator") not in html


def test_unknown_action_is_404(client, people, category):
    from cityops.cases.tests.factories import make_case

    case = make_case(category=category)
    client.force_login(people["operator"])
    assert client.get(reverse("cases:action", args=[case.number, "explode"])).status_code == 404
    assert client.get(reverse("cases:action", args=[case.number, "sla_overdue"])).status_code == 404
