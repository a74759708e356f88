"""Department evidence (issue 12): the after-photo of 处置反馈, returns with a reason that wait for
the dispatcher, and what a case that came back shows on the desks (退单 reason, 返工 badge)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from cityops.cases.errors import InvalidTransition, ValidationFailed
from cityops.cases.models import Attachment, AttachmentKind, Case, CaseEvent, Channel, Notification
from cityops.cases.permissions import available_actions
from cityops.cases.states import Action, Status
from cityops.cases.tests.factories import LeafCategoryFactory
from cityops.cases.workflow import case_transition
from cityops.catalog.models import CategoryKind
from cityops.testing.workflow import dispatched, in_progress

pytestmark = pytest.mark.django_db


def photo(name="after.png", color="green") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.fixture
def part_category(db):
    """A 部件 小类: its after-photo is required (the migration and the catalog loader set the flag)."""
    return LeafCategoryFactory(code="P9901", name="井盖", kind=CategoryKind.PART, requires_after_photo=True)


def respond(case, people, **data):
    return case_transition(case=case, action=Action.RESPOND, actor=people["dept"], data={"result": "已更换井盖", **data})


def assert_nothing_written(case):
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.status == case.status and fresh.version == case.version
    assert not CaseEvent.objects.filter(case=case, action=Action.RESPOND).exists()
    assert not Attachment.objects.filter(case=case).exists()


# ---------------------------------------------------------------- after-photo on 处置反馈


def test_a_part_case_cannot_be_responded_without_an_after_photo(people, part_category, department):
    case = in_progress(people, part_category, department)
    with pytest.raises(ValidationFailed) as refused:
        respond(case, people)
    assert "处置后照片" in refused.value.message and refused.value.details == {"photos": "required"}
    assert_nothing_written(case)


def test_an_inspectors_report_needs_an_after_photo_whatever_its_category(people, category, department):
    case = in_progress(people, category, department, channel=Channel.INSPECTOR)
    with pytest.raises(ValidationFailed):
        respond(case, people)
    assert_nothing_written(case)


def test_an_event_reported_by_phone_needs_no_after_photo(people, category, department):
    assert respond(in_progress(people, category, department), people).status == Status.RESPONDED


def test_the_after_photo_is_stored_with_the_respond_event(people, part_category, department):
    case = respond(in_progress(people, part_category, department), people, photos=[photo()])
    assert case.status == Status.RESPONDED
    stored = Attachment.objects.get(case=case)
    assert stored.kind == AttachmentKind.AFTER and stored.event == case.events.get(action=Action.RESPOND)


def test_a_refused_photo_rolls_the_whole_response_back(people, part_category, department):
    case = in_progress(people, part_category, department)
    fake = SimpleUploadedFile("after.jpg", b"not a picture at all", content_type="image/jpeg")
    with pytest.raises(ValidationFailed):
        respond(case, people, photos=[fake])
    assert_nothing_written(case)


def test_the_respond_page_refuses_a_part_case_without_photo_in_chinese(client, people, part_category, department):
    case = in_progress(people, part_category, department)
    client.force_login(people["dept"])
    form = client.get(reverse("cases:action", args=[case.number, Action.RESPOND])).content.decode()
    assert "处置后照片（部件类或网格员上报的案件须上传）" in form
    response = client.post(reverse("cases:action", args=[case.number, Action.RESPOND]), {"version": case.version, "result": "已更换"})
    assert response.status_code == 400 and "须上传处置后照片" in response.content.decode()
    assert_nothing_written(case)
    ok = client.post(reverse("cases:action", args=[case.number, Action.RESPOND]),
                     {"version": case.version, "result": "已更换", "photos": [photo()]})
    assert ok.status_code == 302
    assert Case.objects.get(pk=case.pk).status == Status.RESPONDED


# ---------------------------------------------------------------- returns


def ask_to_return(case, people, **data):
    data = {"reason": "not_our_duty", "note": "小区内部道路归住建局管理", **data}
    return case_transition(case=case, action=Action.RETURN, actor=people["dept"], data=data)


def test_a_return_needs_an_explanation_even_as_not_our_duty(people, category, department):
    case = dispatched(people, category, department)
    with pytest.raises(ValidationFailed) as refused:
        case_transition(case=case, action=Action.RETURN, actor=people["dept"], data={"reason": "not_our_duty"})
    assert refused.value.message.startswith("请填写退单说明") and "note" in refused.value.details
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.version == case.version and not fresh.return_pending
    assert not CaseEvent.objects.filter(case=case, action=Action.RETURN).exists()


def test_a_return_waits_for_the_dispatcher_with_its_reason_and_suggestion(
    people, category, department, other_department, django_capture_on_commit_callbacks
):
    case = dispatched(people, category, department)
    with django_capture_on_commit_callbacks(execute=True):
        case = ask_to_return(case, people, suggested_department=other_department.code)
    assert case.status == Status.DISPATCHED and case.department == department and case.return_pending
    assert case.return_count == 0
    request = case.return_request
    assert {k: request[k] for k in ("reason", "note", "suggested_department", "department")} == {
        "reason": "not_our_duty", "note": "小区内部道路归住建局管理", "suggested_department": "zhujian", "department": "chengguan",
    }
    assert request["requested_at"]
    event = case.events.get(action=Action.RETURN)
    assert event.payload == {
        "reason": "not_our_duty", "note": "小区内部道路归住建局管理", "suggested_department": "zhujian",
        "department": "chengguan", "pending": True, "mis_dispatch": True,
    }
    assert event.from_status == event.to_status == Status.DISPATCHED
    note = Notification.objects.get(recipient=people["dispatcher"], case=case)
    assert "申请退回" in note.message and "请审核" in note.message


def test_the_department_only_sees_a_case_whose_return_is_pending(people, category, department):
    case = ask_to_return(in_progress(people, category, department), people)
    assert available_actions(people["dept"], case) == []
    assert set(available_actions(people["dispatcher"], case)) >= {Action.ACCEPT_RETURN, Action.REJECT_RETURN}
    for action, data in ((Action.RESPOND, {"result": "已处理"}), (Action.RETURN, {"reason": "other", "note": "x"})):
        with pytest.raises(InvalidTransition, match="待派遣员审核"):
            case_transition(case=case, action=action, actor=people["dept"], data=data)


def test_a_suggested_department_must_be_another_existing_one(people, category, department):
    case = dispatched(people, category, department)
    for code, problem in ((department.code, "same"), ("nope", "unknown")):
        with pytest.raises(ValidationFailed) as refused:
            ask_to_return(case, people, suggested_department=code)
        assert refused.value.details == {"suggested_department": problem}


def test_an_accepted_return_goes_back_to_the_center_for_re_dispatch(
    people, category, department, other_department, django_capture_on_commit_callbacks
):
    case = ask_to_return(dispatched(people, category, department), people, suggested_department=other_department.code)
    with django_capture_on_commit_callbacks(execute=True):
        case = case_transition(case=case, action=Action.ACCEPT_RETURN, actor=people["dispatcher"])
    assert case.status == Status.RETURNED and case.department is None and not case.return_pending
    assert case.return_count == 1 and case.stage == "dispatch"
    assert case.return_request["suggested_department"] == other_department.code  # kept for the dispatch queue
    event = case.events.get(action=Action.ACCEPT_RETURN)
    assert event.payload == {"department": "chengguan", "reason": "not_our_duty"}
    assert Notification.objects.filter(recipient=people["dept"], case=case, message__contains="已同意").exists()
    case = case_transition(case=case, action=Action.DISPATCH, actor=people["dispatcher"], data={"department": other_department.code})
    assert case.department == other_department and case.return_request is None


def test_a_rejected_return_stays_with_the_department_and_its_clock(people, category, department, django_capture_on_commit_callbacks):
    case = in_progress(people, category, department)
    deadline = case.deadline
    case = ask_to_return(case, people)
    with pytest.raises(ValidationFailed):
        case_transition(case=case, action=Action.REJECT_RETURN, actor=people["dispatcher"], data={})
    with django_capture_on_commit_callbacks(execute=True):
        case = case_transition(case=case, action=Action.REJECT_RETURN, actor=people["dispatcher"],
                               data={"note": "属本单位职责，请继续处置"})
    assert case.status == Status.IN_PROGRESS and case.department == department
    assert not case.return_pending and case.return_request is None and case.return_count == 0
    assert case.deadline == deadline and case.clock_paused_at is None
    assert case.events.get(action=Action.REJECT_RETURN).payload == {"department": "chengguan"}
    assert Notification.objects.filter(recipient=people["dept"], case=case, message__contains="被驳回").exists()
    assert Action.RESPOND in available_actions(people["dept"], case)


def test_without_acceptance_a_return_takes_effect_at_once(people, category, department, settings):
    settings.CITYOPS_RETURN_NEEDS_ACCEPTANCE = False
    case = ask_to_return(dispatched(people, category, department), people)
    assert case.status == Status.RETURNED and case.department is None and case.return_count == 1
    assert not case.return_pending
    payload = case.events.get(action=Action.RETURN).payload
    assert payload["pending"] is False and payload["mis_dispatch"] is True and payload["department"] == "chengguan"


# ---------------------------------------------------------------- the desks


def test_the_dispatcher_reviews_a_pending_return_with_reason_note_and_suggestion(client, people, category, department, other_department):
    case = ask_to_return(dispatched(people, category, department), people, suggested_department=other_department.code)
    client.force_login(people["dispatcher"])
    html = client.get(reverse("cases:desk_dispatcher"), {"tab": "returns"}).content.decode()
    assert case.number in html
    assert "非本单位职责" in html and "小区内部道路归住建局管理" in html and other_department.name in html
    assert 'data-action="accept_return"' in html and 'data-action-loader="reject_return"' in html
    response = client.post(reverse("cases:action", args=[case.number, Action.ACCEPT_RETURN]), {"version": case.version})
    assert response.status_code == 302
    html = client.get(reverse("cases:desk_dispatcher"), {"tab": "dispatch"}).content.decode()
    assert case.number in html and "小区内部道路归住建局管理" in html and "派遣至建议部门" in html


def test_the_department_sees_its_return_waiting(client, people, category, department):
    case = ask_to_return(in_progress(people, category, department), people)
    client.force_login(people["dept"])
    html = client.get(reverse("cases:desk_department"), {"tab": "handling"}).content.decode()
    assert case.number in html and "待派遣员审核" in html
    assert f'hx-post="{reverse("cases:action", args=[case.number, Action.RESPOND])}"' not in html


def failed_verification(people, category, department):
    case = respond(in_progress(people, category, department), people)
    return case_transition(case=case, action=Action.VERIFY, actor=people["dispatcher"],
                           data={"passed": False, "note": "井盖仍有松动", "photos": [photo("verify.png", "red")]})


def test_a_failed_verification_shows_rework_reason_and_photo_on_the_department_desk(client, people, category, department):
    case = failed_verification(people, category, department)
    verify_photo = Attachment.objects.get(case=case, kind=AttachmentKind.VERIFY)
    client.force_login(people["dept"])
    html = client.get(reverse("cases:desk_department"), {"tab": "handling"}).content.decode()
    assert "返工" in html and "井盖仍有松动" in html
    assert reverse("cases:attachment", args=[case.number, verify_photo.pk]) in html
    respond(case, people)
    html = client.get(reverse("cases:desk_department"), {"tab": "handling"}).content.decode()
    assert "井盖仍有松动" not in html  # responded again: no longer rework on the desk


def test_the_rework_notification_says_rework_not_return(people, category, department, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case = failed_verification(people, category, department)
    note = Notification.objects.get(recipient=people["dept"], case=case, message__contains="核查未通过")
    assert note.message.startswith("返工") and "井盖仍有松动" in note.message
    assert "退单" not in note.message and "退单" not in note.get_kind_display()


def test_the_verify_form_shows_before_and_after_photos_side_by_side(client, people, part_category, department):
    from cityops.cases.services import attachment_add

    case = in_progress(people, part_category, department)
    attachment_add(case=case, upload=photo("before.png", "gray"), kind=AttachmentKind.BEFORE)
    case = respond(case, people, photos=[photo()])
    client.force_login(people["dispatcher"])
    html = client.get(reverse("cases:action", args=[case.number, Action.VERIFY])).content.decode()
    compare = html[html.index('class="photo-compare"'):]
    before = Attachment.objects.get(case=case, kind=AttachmentKind.BEFORE)
    after = Attachment.objects.get(case=case, kind=AttachmentKind.AFTER)
    assert compare.index("处置前") < compare.index(f"/attachments/{before.pk}/") < compare.index("处置后") < compare.index(f"/attachments/{after.pk}/")


def test_the_timeline_names_the_suggested_department_of_a_return(client, people, category, department, other_department):
    case = ask_to_return(dispatched(people, category, department), people, suggested_department=other_department.code)
    client.force_login(people["dispatcher"])
    html = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    timeline = html[html.index('class="timeline"'):]
    assert "<em>建议部门</em> 区住建局" in timeline and "退单待派遣员审核" in timeline
    assert "小区内部道路归住建局管理" in timeline
