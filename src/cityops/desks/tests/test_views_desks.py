"""Desk queues and the shared case list: scope, filters, masking, htmx fragments."""

from datetime import date

import pytest
from django.urls import reverse

from cityops.cases.models import Case
from cityops.cases.states import Status
from cityops.cases.tests.factories import make_case
from cityops.catalog.models import ResponsibilityRule
from cityops.testing.workflow import dispatched, in_progress, registered

pytestmark = pytest.mark.django_db


def get(client, user, name, **params):
    client.force_login(user)
    return client.get(reverse(name), params)


def test_department_desk_lists_only_its_own_cases(client, people, category, department, other_department):
    mine = dispatched(people, category, department)
    theirs = dispatched(people, category, other_department)
    html = get(client, people["dept"], "cases:desk_department", tab="sign").content.decode()
    assert mine.number in html and theirs.number not in html
    html = get(client, people["dept"], "cases:desk_department", tab="all").content.decode()
    assert mine.number in html and theirs.number not in html
    html = get(client, people["dept"], "cases:list", q=theirs.number).content.decode()
    assert f'data-case="{theirs.number}"' not in html and "没有符合条件的案件" in html


def test_department_handling_tab_offers_respond_extension_and_return(client, people, category, department):
    case = in_progress(people, category, department)
    html = get(client, people["dept"], "cases:desk_department", tab="handling").content.decode()
    assert case.number in html
    for action in ("respond", "request_extension", "return"):
        assert f'data-action-loader="{action}"' in html


def test_dispatcher_queue_shows_the_matrix_proposal_with_one_click_dispatch(client, people, category, department):
    ResponsibilityRule.objects.create(category=category, lead=department, valid_from=date(2020, 1, 1))
    case = registered(people, category)
    html = get(client, people["dispatcher"], "cases:desk_dispatcher", tab="dispatch").content.decode()
    assert case.number in html
    assert department.name in html and "权责清单" in html
    assert 'name="department" value="chengguan"' in html
    assert 'name="proposal" value="chengguan"' in html


def test_one_click_dispatch_records_the_proposal(client, people, category, department):
    case = registered(people, category)
    client.force_login(people["dispatcher"])
    client.post(reverse("cases:action", args=[case.number, "dispatch"]),
                {"version": case.version, "department": department.code, "proposal": department.code})
    event = case.events.get(action="dispatch")
    assert event.payload["proposal"] == department.code and event.payload["route"] == "manual"


def test_operator_queue_lists_new_cases_with_their_buttons(client, people, category):
    case = make_case(category=category)
    html = get(client, people["operator"], "cases:desk_operator").content.decode()
    assert case.number in html
    assert 'data-action="register"' in html  # one click: the case already has a category
    for action in ("reject", "answer", "merge"):
        assert f'data-action-loader="{action}"' in html


def test_overdue_board_groups_by_department_red_first(client, people, category, department, other_department):
    from django.utils import timezone

    late = dispatched(people, category, department)
    warn = dispatched(people, category, other_department)
    now = timezone.now()
    Case.objects.filter(pk=late.pk).update(deadline=now - timezone.timedelta(hours=3), warn_at=now - timezone.timedelta(hours=5))
    Case.objects.filter(pk=warn.pk).update(deadline=now + timezone.timedelta(hours=3), warn_at=now - timezone.timedelta(hours=1))
    html = get(client, people["dispatcher"], "cases:desk_dispatcher", tab="overdue").content.decode()
    assert late.number in html and warn.number in html
    assert html.index(department.name) < html.index(other_department.name)
    assert html.index(late.number) < html.index(warn.number)
    leader_html = get(client, people["leader"], "cases:desk_leader", tab="overdue").content.decode()
    assert 'data-action="supervise"' in leader_html and 'data-action="urge"' in leader_html


def test_list_masks_the_phone_for_every_role_even_those_who_may_reveal_it(client, people, category, department):
    # Revealing is a recorded action on one case's page, never a side effect of a list.
    case = dispatched(people, category, department, reporter_phone="13900001111")
    for role in ("leader", "dept", "dispatcher", "operator"):
        html = get(client, people[role], "cases:list").content.decode()
        assert case.number in html
        assert "13900001111" not in html and "139****1111" in html


def test_list_filters_and_htmx_returns_only_the_table(client, people, category, department):
    new = make_case(category=category, description="路灯不亮")
    done = dispatched(people, category, department, description="井盖缺失")
    client.force_login(people["leader"])
    response = client.get(reverse("cases:list"), {"status": Status.DISPATCHED}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="case-table")
    html = response.content.decode()
    assert "<html" not in html and "<form" not in html
    assert done.number in html and new.number not in html
    html = client.get(reverse("cases:list"), {"q": "路灯"}).content.decode()
    assert new.number in html and done.number not in html
    html = client.get(reverse("cases:list"), {"status": "open", "department": department.code}).content.decode()
    assert done.number in html and new.number not in html


def test_bad_filter_values_do_not_break_the_list(client, people, category):
    case = make_case(category=category)
    response = get(client, people["leader"], "cases:list", status="nonsense", created_from="2026-13-45", sla="purple", page="x")
    assert response.status_code == 200
    assert case.number in response.content.decode()


def test_an_inverted_date_range_is_explained(client, people, category):
    response = get(client, people["leader"], "cases:list", created_from="2026-05-02", created_to="2026-05-01")
    assert "开始日期不能晚于结束日期" in response.content.decode()


def test_list_paginates_by_twenty(client, people, category):
    for i in range(23):
        make_case(category=category, description=f"第{i}件")
    client.force_login(people["leader"])
    first = client.get(reverse("cases:list")).content.decode()
    assert first.count('data-case="') == 20 and "第 1 / 2 页" in first
    second = client.get(reverse("cases:list"), {"page": 2}).content.decode()
    assert second.count('data-case="') == 3


def test_list_queries_do_not_grow_with_rows(client, people, category, django_assert_max_num_queries):
    for _ in range(20):
        make_case(category=category)
    client.force_login(people["leader"])
    client.get(reverse("cases:list"))  # warm the reference-data caches
    with django_assert_max_num_queries(25):
        client.get(reverse("cases:list"))


def test_desk_region_reloads_as_a_fragment(client, people, category):
    make_case(category=category)
    client.force_login(people["operator"])
    response = client.get(reverse("cases:desk_operator"), {"tab": "new"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="desk-region")
    html = response.content.decode()
    assert "<html" not in html and 'class="desk-region"' in html and "热线受理" not in html


def test_case_list_says_more_than_when_the_count_is_capped(client, people, category, monkeypatch):
    monkeypatch.setattr("cityops.cases.selectors.LIST_COUNT_CAP", 2)
    for i in range(3):
        make_case(category=category, description=f"案件{i}")
    html = get(client, people["leader"], "cases:list").content.decode()
    assert "超过 2 件" in html and "请增加筛选条件" in html
    html = get(client, people["leader"], "cases:list", q="案件1").content.decode()
    assert "共 1 件" in html and "超过" not in html
