"""The department's phone desk (/m/dept/) and the phone landing after sign-in."""

import pytest
from django.urls import reverse

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.models import Attachment, Case
from cityops.cases.states import Action, ReturnReason, Status
from cityops.cases.tests.factories import DepartmentFactory, make_case
from cityops.cases.workflow import case_transition

pytestmark = pytest.mark.django_db

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


@pytest.fixture
def other_department(db):
    return DepartmentFactory(code="zhujian", name="区住建局")


@pytest.fixture
def people(department, other_department):
    return {
        "operator": UserFactory(role="operator"), "dispatcher": UserFactory(role="dispatcher"),
        "leader": UserFactory(role="leader"), "inspector": UserFactory(role="inspector"),
        "sysadmin": UserFactory(role="sysadmin"),
        "dept": UserFactory(role="department", department=department),
        "other_dept": UserFactory(role="department", department=other_department),
    }


def dispatched(people, category, department):
    case = case_transition(case=make_case(category=category), action=Action.REGISTER, actor=people["operator"])
    return case_transition(case=case, action=Action.DISPATCH, actor=people["dispatcher"], data={"department": department.code})


def in_progress(people, category, department):
    return case_transition(case=dispatched(people, category, department), action=Action.SIGN, actor=people["dept"])


def act(client, case, action, **data):
    return client.post(reverse("intake:dept_action", args=[case.number, action]), {"version": case.version, **data})


def test_desk_lists_the_department_cases_to_sign(client, people, category, department):
    case = dispatched(people, category, department)
    client.force_login(people["dept"])
    response = client.get(reverse("intake:dept_desk"))
    assert response.status_code == 200
    assert case.number in response.content.decode()


def test_desk_does_not_list_another_department_case(client, people, category, department, other_department):
    case = dispatched(people, category, other_department)
    client.force_login(people["dept"])
    assert case.number not in client.get(reverse("intake:dept_desk")).content.decode()


def test_sign_from_the_phone(client, people, category, department):
    case = dispatched(people, category, department)
    client.force_login(people["dept"])
    response = act(client, case, "sign")
    assert response.status_code == 302
    assert response["Location"] == reverse("intake:dept_task", args=[case.number])
    assert Case.objects.get(pk=case.pk).status == Status.IN_PROGRESS


def test_respond_with_a_camera_photo(client, people, category, department, jpeg):
    case = in_progress(people, category, department)
    client.force_login(people["dept"])
    response = act(client, case, "respond", result="已清运完毕", photos=jpeg("after.jpg"))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.RESPONDED and case.result == "已清运完毕"
    assert Attachment.objects.filter(case=case, kind="after").count() == 1


def test_respond_without_result_shows_the_chinese_message(client, people, category, department):
    case = in_progress(people, category, department)
    client.force_login(people["dept"])
    response = act(client, case, "respond", result="")
    assert response.status_code == 400
    assert "请填写处置结果" in response.content.decode()
    assert Case.objects.get(pk=case.pk).status == Status.IN_PROGRESS


def test_return_with_reason_and_suggested_department(client, people, category, department, other_department):
    case = dispatched(people, category, department)
    client.force_login(people["dept"])
    response = act(client, case, "return", reason=ReturnReason.NOT_OUR_DUTY, note="属于住建局管辖的小区道路",
                   suggested_department=other_department.code)
    assert response.status_code == 302
    event = case.events.filter(action=Action.RETURN).get()
    assert event.payload["reason"] == ReturnReason.NOT_OUR_DUTY
    assert event.payload.get("suggested_department") in (other_department.code, None)  # shape set by the workflow


def test_return_without_reason_is_refused_in_chinese(client, people, category, department):
    case = dispatched(people, category, department)
    client.force_login(people["dept"])
    response = act(client, case, "return", reason="", note="")
    assert response.status_code == 400
    assert "请选择退单原因" in response.content.decode()
    assert not case.events.filter(action=Action.RETURN).exists()


def test_request_extension_from_the_phone(client, people, category, department):
    case = in_progress(people, category, department)
    client.force_login(people["dept"])
    response = act(client, case, "request_extension", value="2", unit="work_day", note="材料未到货")
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).extension_pending


def test_task_page_offers_the_handling_forms(client, people, category, department):
    case = in_progress(people, category, department)
    client.force_login(people["dept"])
    html = client.get(reverse("intake:dept_task", args=[case.number])).content.decode()
    assert "处置反馈" in html and "退单" in html and "申请延期" in html
    assert 'name="photos"' in html and 'accept="image/*"' in html and 'enctype="multipart/form-data"' in html


def test_another_department_case_is_a_404(client, people, category, department, other_department):
    case = dispatched(people, category, other_department)
    client.force_login(people["dept"])
    assert client.get(reverse("intake:dept_task", args=[case.number])).status_code == 404
    assert act(client, case, "sign").status_code == 404
    assert Case.objects.get(pk=case.pk).status == Status.DISPATCHED


@pytest.mark.parametrize("role", ["operator", "dispatcher", "inspector", "leader", "sysadmin"])
def test_other_roles_are_refused(client, people, category, department, role):
    case = dispatched(people, category, department)
    client.force_login(people[role])
    assert client.get(reverse("intake:dept_desk")).status_code == 403
    assert act(client, case, "sign").status_code == 403
    assert Case.objects.get(pk=case.pk).status == Status.DISPATCHED


def test_unknown_action_is_a_404(client, people, category, department):
    case = dispatched(people, category, department)
    client.force_login(people["dept"])
    assert act(client, case, "dispatch").status_code == 404


# ---------------------------------------------------------------- landing after sign-in


def test_inspector_on_a_phone_lands_on_the_phone_page(client, geo):
    UserFactory(username="walker", role="inspector")
    response = client.post(reverse("web:login"), {"username": "walker", "password": "Demo-pass-123"},
                           headers={"user-agent": PHONE}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("intake:inspector_home")


def test_inspector_on_a_desktop_stays_on_the_desktop_home(client, geo):
    UserFactory(username="walker", role="inspector")
    response = client.post(reverse("web:login"), {"username": "walker", "password": "Demo-pass-123"},
                           headers={"user-agent": DESKTOP}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("web:home")


def test_department_on_a_phone_lands_on_the_phone_desk(client, department):
    UserFactory(username="handler", role="department", department=department)
    response = client.post(reverse("web:login"), {"username": "handler", "password": "Demo-pass-123"},
                           headers={"user-agent": PHONE}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("intake:dept_desk")


def test_the_desktop_pages_stay_reachable_from_a_phone(client, department):
    user = UserFactory(role="department", department=department)
    client.force_login(user)
    assert client.get(reverse("web:home"), headers={"user-agent": PHONE}).status_code == 302
    assert client.get(reverse("web:home") + "?desktop=1", headers={"user-agent": PHONE}).status_code == 200
    assert client.get(reverse("web:home"), headers={"user-agent": PHONE}).status_code == 200  # remembered


def test_respond_without_the_required_after_photo_is_refused_in_chinese(client, people, department):
    from cityops.cases.tests.factories import LeafCategoryFactory

    part = LeafCategoryFactory(code="P9901", name="井盖", requires_after_photo=True)
    case = in_progress(people, part, department)
    client.force_login(people["dept"])
    response = act(client, case, "respond", result="已更换井盖")
    assert response.status_code == 400
    assert "处置后照片" in response.content.decode()
    assert Case.objects.get(pk=case.pk).status == Status.IN_PROGRESS
