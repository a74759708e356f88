"""Posting workflow actions through the pages: state changes, conflicts, uploads."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from cityops.cases.models import Attachment, Case, CaseEvent
from cityops.cases.states import Action, Status
from cityops.cases.tests.factories import make_case
from cityops.testing.workflow import in_progress, registered

pytestmark = pytest.mark.django_db


def action_url(case, action):
    return reverse("cases:action", args=[case.number, action])


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, format="PNG")
    return buffer.getvalue()


def test_posting_register_changes_the_state_and_redirects_back(client, people, category):
    case = make_case(category=category)
    client.force_login(people["operator"])
    response = client.post(action_url(case, Action.REGISTER), {"version": case.version, "next": "/desk/operator/"})
    assert response.status_code == 302 and response["Location"] == "/desk/operator/"
    case.refresh_from_db()
    assert case.status == Status.REGISTERED


def test_an_unsafe_next_is_ignored(client, people, category):
    case = make_case(category=category)
    client.force_login(people["operator"])
    response = client.post(action_url(case, Action.REGISTER), {"version": case.version, "next": "https://evil.example/"})
    assert response["Location"] == reverse("cases:detail", args=[case.number])


def test_a_stale_version_shows_a_conflict_and_changes_nothing(client, people, category):
    case = make_case(category=category)
    events = CaseEvent.objects.filter(case=case).count()
    client.force_login(people["operator"])
    response = client.post(action_url(case, Action.REJECT), {"version": case.version + 5, "note": "重复来电"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "已被他人更新" in html
    assert "重复来电" in html  # the user's input is kept
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.status == Status.NEW and fresh.version == case.version
    assert CaseEvent.objects.filter(case=case).count() == events


def test_a_stale_version_through_htmx_re_renders_the_form_with_the_message(client, people, category):
    case = make_case(category=category)
    client.force_login(people["operator"])
    response = client.post(action_url(case, Action.REJECT), {"version": case.version + 1, "note": "x"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "已被他人更新" in response.content.decode()
    assert "HX-Trigger" not in response
    assert Case.objects.get(pk=case.pk).status == Status.NEW


def test_htmx_success_triggers_the_refresh_event(client, people, category, department):
    case = registered(people, category)
    client.force_login(people["dispatcher"])
    response = client.post(action_url(case, Action.DISPATCH), {"version": case.version, "department": department.code},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "cases-changed" in response["HX-Trigger"]
    assert 'hx-swap-oob="true"' in response.content.decode()
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED and case.department == department


def test_a_missing_required_field_is_shown_in_chinese_and_keeps_the_input(client, people, category, department):
    case = in_progress(people, category, department)
    client.force_login(people["dept"])
    response = client.post(action_url(case, Action.REQUEST_EXTENSION), {"version": case.version, "value": "3", "unit": "work_day"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "请填写延期理由" in html
    assert 'value="3"' in html
    assert Case.objects.get(pk=case.pk).extension_pending is False


def test_a_service_error_is_shown_as_a_message(client, people, category):
    case = make_case(category=category)
    client.force_login(people["operator"])
    response = client.post(action_url(case, Action.MERGE), {"version": case.version, "master": case.number})
    assert response.status_code == 400
    assert "不能合并到自身" in response.content.decode()


def test_an_action_outside_the_role_is_refused(client, people, category):
    case = registered(people, category)
    client.force_login(people["leader"])
    response = client.post(action_url(case, Action.DISPATCH), {"version": case.version, "department": "chengguan"})
    assert response.status_code == 403
    assert "无权执行" in response.content.decode()
    assert Case.objects.get(pk=case.pk).status == Status.REGISTERED


def test_another_departments_case_cannot_be_acted_on(client, people, category, other_department):
    case = in_progress(people, category, other_department)
    client.force_login(people["dept"])
    response = client.post(action_url(case, Action.RESPOND), {"version": case.version, "result": "x"})
    assert response.status_code == 404


def test_respond_with_a_non_image_is_refused_in_chinese(client, people, category, department):
    case = in_progress(people, category, department)
    client.force_login(people["dept"])
    fake = SimpleUploadedFile("after.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg")
    response = client.post(action_url(case, Action.RESPOND), {"version": case.version, "result": "已清理", "photos": [fake]})
    assert response.status_code == 400
    html = response.content.decode()
    assert "不是有效图片" in html
    assert "已清理" in html
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.status == Status.IN_PROGRESS and fresh.version == case.version
    assert not Attachment.objects.filter(case=case).exists()


def test_respond_with_photos_stores_after_photos_on_the_event(client, people, category, department):
    case = in_progress(people, category, department)
    client.force_login(people["dept"])
    photos = [SimpleUploadedFile(f"p{i}.png", png_bytes(), content_type="image/png") for i in range(2)]
    response = client.post(action_url(case, Action.RESPOND), {"version": case.version, "result": "已清理", "photos": photos})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.RESPONDED
    attachments = list(Attachment.objects.filter(case=case))
    assert len(attachments) == 2
    assert {a.kind for a in attachments} == {"after"}
    assert all(a.event.action == Action.RESPOND for a in attachments)
    # the photo is served to those who may see the case
    url = reverse("cases:attachment", args=[case.number, attachments[0].pk])
    assert client.get(url).status_code == 200
    client.force_login(people["other_dept"])
    assert client.get(url).status_code == 404


def test_original_photos_are_for_the_command_center_only(client, people, category, department):
    case = in_progress(people, category, department)
    client.force_login(people["dept"])
    client.post(action_url(case, Action.RESPOND), {
        "version": case.version, "result": "ok", "photos": [SimpleUploadedFile("p.png", png_bytes(), content_type="image/png")],
    })
    attachment = Attachment.objects.get(case=case)
    url = reverse("cases:attachment", args=[case.number, attachment.pk]) + "?original=1"
    assert client.get(url).status_code == 404
    client.force_login(people["dispatcher"])
    assert client.get(url).status_code == 200


def test_return_with_not_our_duty_from_the_department_desk(client, people, category, department, other_department):
    case = in_progress(people, category, department)
    client.force_login(people["dept"])
    response = client.post(action_url(case, Action.RETURN), {
        "version": case.version, "reason": "not_our_duty", "note": "属住建局管辖的小区内部道路",
        "suggested_department": other_department.code,
    })
    assert response.status_code == 302
    event = CaseEvent.objects.get(case=case, action=Action.RETURN)
    assert event.payload["mis_dispatch"] is True and event.payload["suggested_department"] == other_department.code
    assert Case.objects.get(pk=case.pk).return_pending


def test_a_return_without_an_explanation_is_refused_in_chinese_and_writes_nothing(client, people, category, department):
    case = in_progress(people, category, department)
    client.force_login(people["dept"])
    response = client.post(action_url(case, Action.RETURN), {"version": case.version, "reason": "not_our_duty"})
    assert response.status_code == 400 and "请填写退单说明" in response.content.decode()
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.version == case.version and not fresh.return_pending
    assert not CaseEvent.objects.filter(case=case, action=Action.RETURN).exists()


def test_verify_fail_needs_a_reason_and_pass_closes(client, people, category, department):
    from cityops.testing.workflow import responded

    case = responded(people, category, department)
    client.force_login(people["dispatcher"])
    failed = client.post(action_url(case, Action.VERIFY), {"version": case.version, "passed": "false"})
    assert failed.status_code == 400 and "返工原因" in failed.content.decode()
    ok = client.post(action_url(case, Action.VERIFY), {"version": case.version, "passed": "true"})
    assert ok.status_code == 302
    assert Case.objects.get(pk=case.pk).status == Status.CLOSED


def test_extension_request_then_approval(client, people, category, department):
    case = in_progress(people, category, department)
    client.force_login(people["dept"])
    client.post(action_url(case, Action.REQUEST_EXTENSION), {"version": case.version, "value": "2", "unit": "work_day", "note": "需协调"})
    case.refresh_from_db()
    assert case.extension_pending
    client.force_login(people["dispatcher"])
    html = client.get(reverse("cases:desk_dispatcher"), {"tab": "extension"}).content.decode()
    assert case.number in html and "需协调" in html
    response = client.post(action_url(case, Action.APPROVE_EXTENSION), {"version": case.version})
    assert response.status_code == 302
    case.refresh_from_db()
    assert not case.extension_pending
