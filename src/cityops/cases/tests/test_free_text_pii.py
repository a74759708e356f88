"""Personal data typed into free text (description, title, address, notes, replies) is masked on
every case surface for roles that may not see personal data, and shown as stored to roles that
may (`cases.view_personal_data`): desk pages, the detail page and its htmx partial, the mobile
department desk, the API, notifications. The stored text never changes."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from cityops.accounts.tests.factories import UserFactory
from cityops.api.tests.client import ApiClient
from cityops.cases.free_text import case_free_text, shown_text
from cityops.cases.models import Case, Notification
from cityops.cases.states import Action, ReturnReason
from cityops.cases.workflow import case_transition
from cityops.testing.workflow import dispatched, in_progress

pytestmark = pytest.mark.django_db

TEXT = "联系电话13812345678 身份证11010519491231002X"
DESCRIPTION = f"小区门口垃圾成堆，{TEXT}"
MASKED = "联系电话138****5678 身份证110105********002X"
CLEAR_BITS = ("13812345678", "11010519491231002X")


def assert_masked(html: str) -> None:
    assert MASKED in html
    for bit in CLEAR_BITS:
        assert bit not in html


def assert_clear(html: str) -> None:
    assert TEXT in html


def page(client, user, name, *args, **params):
    client.force_login(user)
    response = client.get(reverse(name, args=args), params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def case(people, category, department):
    """A case dispatched to `department` with personal data in its description, title and address."""
    return dispatched(people, category, department, description=DESCRIPTION, title=f"垃圾 {TEXT}",
                      address=f"东关大街1号 {TEXT}")


def test_the_department_desk_masks_phone_and_id_typed_into_the_description(client, people, case):
    assert_masked(page(client, people["dept"], "cases:desk_department", tab="sign"))


def test_the_detail_page_masks_free_text_for_a_department_and_leaves_the_stored_text(client, people, case):
    html = page(client, people["dept"], "cases:detail", case.number)
    assert_masked(html)
    assert Case.objects.get(pk=case.pk).description == DESCRIPTION


def test_the_detail_page_shows_free_text_in_clear_to_the_dispatcher(client, people, case):
    assert_clear(page(client, people["dispatcher"], "cases:detail", case.number))


def test_a_department_user_holding_the_personal_data_permission_sees_the_text_in_clear(client, people, case, department):
    user = UserFactory(role="department", department=department)
    user.user_permissions.add(Permission.objects.get(codename="view_personal_data", content_type__app_label="cases"))
    assert_clear(page(client, user, "cases:detail", case.number))


def test_the_detail_htmx_partial_masks_free_text_for_a_department(client, people, case):
    client.force_login(people["dept"])
    response = client.get(reverse("cases:detail", args=[case.number]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="case-detail")
    assert response.status_code == 200 and "<html" not in response.content.decode()
    assert_masked(response.content.decode())


def test_the_shared_case_list_masks_for_a_leader_and_not_for_an_operator(client, people, case):
    html = page(client, people["leader"], "cases:list")
    assert "13812345678" not in html and "138****5678" in html
    assert "13812345678" in page(client, people["operator"], "cases:list")


def test_the_mobile_department_desk_and_task_mask_the_description(client, people, case):
    html = page(client, people["dept"], "intake:dept_desk")
    assert "13812345678" not in html and "138****5678" in html
    assert_masked(page(client, people["dept"], "intake:dept_task", case.number))


def test_timeline_notes_and_return_notes_are_masked_unless_the_role_may_see_personal_data(client, people, category, department):
    case = in_progress(people, category, department)
    case_transition(case=case, action=Action.RETURN, actor=people["dept"],
                    data={"reason": ReturnReason.NOT_OUR_DUTY, "note": f"非本单位职责，{TEXT}"})
    assert_masked(page(client, people["leader"], "cases:detail", case.number))
    assert_clear(page(client, people["dispatcher"], "cases:detail", case.number))
    assert_clear(page(client, people["dispatcher"], "cases:desk_dispatcher", tab="returns"))


# ---------------------------------------------------------------- API


def test_the_api_masks_case_detail_list_and_event_notes_for_a_department(people, category, department, case):
    api = ApiClient(people["dept"])
    one = api.get(f"/cases/{case.number}").json()
    assert one["description"] == f"小区门口垃圾成堆，{MASKED}" and MASKED in one["title"] and MASKED in one["address"]
    listed = api.get("/cases").json()["results"]
    assert [c["description"] for c in listed] == [f"小区门口垃圾成堆，{MASKED}"]
    case = case_transition(case=case, action=Action.SIGN, actor=people["dept"])
    case_transition(case=case, action=Action.RETURN, actor=people["dept"], data={"reason": ReturnReason.NOT_OUR_DUTY, "note": TEXT})
    events = api.get(f"/cases/{case.number}/events")
    assert events.status_code == 200 and "13812345678" not in events.content.decode()
    assert [e["note"] for e in events.json() if e["action"] == "return"] == [MASKED]


def test_the_api_shows_free_text_in_clear_to_a_role_that_may_see_personal_data(people, case):
    api = ApiClient(people["dispatcher"])
    assert api.get(f"/cases/{case.number}").json()["description"] == DESCRIPTION
    assert api.get("/cases").json()["results"][0]["description"] == DESCRIPTION


# ---------------------------------------------------------------- notifications and the presenter


def test_a_new_task_notification_carries_the_text_masked(client, people, category, department, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case = dispatched(people, category, department, description=DESCRIPTION)
    message = Notification.objects.get(recipient=people["dept"], case=case).message
    assert "13812345678" not in message and "138****5678" in message
    html = page(client, people["dept"], "cases:notifications")
    assert "13812345678" not in html and "138****5678" in html


def test_the_presenter_masks_only_for_users_without_the_permission(people, case):
    assert case_free_text(case, people["dept"])["description"] == f"小区门口垃圾成堆，{MASKED}"
    assert case_free_text(case, people["operator"])["description"] == DESCRIPTION
    assert shown_text(DESCRIPTION, None) == f"小区门口垃圾成堆，{MASKED}"  # nobody known: masked
