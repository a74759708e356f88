"""One satisfaction result per case: callback queue, unreachable attempts, the leader's
correction, and the dispatcher's 不满意复核 (review note or 重办)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from PIL import Image

from cityops.audit.models import AuditAction, AuditEntry
from cityops.cases.errors import InvalidTransition, NotAllowed, ValidationFailed
from cityops.cases.models import Case, CaseEvent
from cityops.cases.services import attachment_add
from cityops.cases.states import Action, Status
from cityops.cases.tests.factories import make_case
from cityops.cases.workflow import case_transition
from cityops.desks.presenters import event_views
from cityops.testing.workflow import responded

pytestmark = pytest.mark.django_db


def closed(people, category, department, **kwargs):
    case = responded(people, category, department, **kwargs)
    return case_transition(case=case, action=Action.VERIFY, actor=people["dispatcher"], data={"passed": True})


def callback(people, case, satisfaction="satisfied", **data):
    return case_transition(case=case, action=Action.CALLBACK, actor=people["operator"], data={"satisfaction": satisfaction, **data})


def png_upload(name="after.png"):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


# ---------------------------------------------------------------- closure and the queue


def test_a_verified_case_with_a_phone_waits_for_its_callback(people, category, department):
    case = closed(people, category, department)
    assert case.callback_status == "pending" and not case.satisfaction


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"reporter_phone": ""}, "no phone (an inspector's own report)"),
    ({"no_callback": True}, "the reporter asked not to be called"),
])
def test_a_case_nobody_should_call_needs_no_callback(people, category, department, kwargs, reason):
    case = closed(people, category, department, **kwargs)
    assert case.callback_status == "not_needed", reason
    with pytest.raises(InvalidTransition):
        callback(people, case)


def test_a_merged_duplicate_needs_no_callback(people, category):
    master = make_case(category=category, description="主案件")
    dup = case_transition(case=make_case(category=category), action=Action.MERGE, actor=people["operator"],
                          data={"master": master.number})
    assert dup.callback_status == "not_needed"


def test_a_direct_answer_to_a_caller_with_a_phone_is_called_back(people, category):
    case = case_transition(case=make_case(category=category), action=Action.ANSWER, actor=people["operator"],
                           data={"answer": "已电话答复"})
    assert case.callback_status == "pending"


def test_the_callback_queue_holds_only_cases_to_call(client, people, category, department):
    due = closed(people, category, department)
    no_phone = closed(people, category, department, reporter_phone="")
    asked_not = closed(people, category, department, no_callback=True)
    done = callback(people, closed(people, category, department))
    client.force_login(people["operator"])
    html = client.get(reverse("cases:desk_operator"), {"tab": "callback"}).content.decode()
    assert due.number in html
    for case in (no_phone, asked_not, done):
        assert case.number not in html


def test_each_callback_row_shows_the_phone_the_result_and_the_after_photo_and_audits_the_reveal(client, people, category, department):
    case = closed(people, category, department, reporter_phone="13900001111")
    photo = attachment_add(case=case, upload=png_upload(), kind="after", actor=people["dept"])
    client.force_login(people["operator"])
    html = client.get(reverse("cases:desk_operator"), {"tab": "callback"}).content.decode()
    assert "13900001111" in html
    assert "已处置完毕" in html  # the department's result, read out to the caller
    assert reverse("cases:attachment", args=[case.number, photo.pk]) in html
    for outcome in ("satisfied", "basically_satisfied", "unsatisfied", "unreachable"):
        assert f'data-outcome="{outcome}"' in html
    entry = AuditEntry.objects.get(action=AuditAction.VIEW_PERSONAL_DATA, target=f"case:{case.number}")
    assert entry.actor == people["operator"] and entry.details["via"] == "callback_desk"


# ---------------------------------------------------------------- callback


def test_the_first_callback_fixes_the_result(people, category, department):
    case = callback(people, closed(people, category, department), "basically_satisfied")
    assert case.status == Status.CLOSED
    assert case.satisfaction == "basically_satisfied" and case.satisfaction_source == "callback"
    assert case.satisfaction_at is not None and case.callback_status == "done"
    assert not case.citizen_satisfaction and not case.review_status
    assert case.events.get(action=Action.CALLBACK).payload == {"satisfaction": "basically_satisfied", "result": True}


def test_a_second_callback_is_refused_and_writes_nothing(people, category, department):
    case = callback(people, closed(people, category, department))
    with pytest.raises(InvalidTransition):
        callback(people, case, "unsatisfied")
    case.refresh_from_db()
    assert case.satisfaction == "satisfied" and case.events.filter(action=Action.CALLBACK).count() == 1


def test_a_case_with_a_result_offers_no_callback_form_and_refuses_the_post(client, people, category, department):
    case = callback(people, closed(people, category, department))
    client.force_login(people["operator"])
    detail = client.get(reverse("cases:detail", args=[case.number])).content.decode()
    assert 'data-action="callback"' not in detail
    form = client.get(reverse("cases:action", args=[case.number, "callback"]))
    assert form.status_code == 409 and "已有满意度结果，不能再次回访" in form.content.decode()
    post = client.post(reverse("cases:action", args=[case.number, "callback"]), {"version": case.version, "satisfaction": "unsatisfied"})
    assert post.status_code == 409 and "已有满意度结果" in post.content.decode()
    assert Case.objects.get(pk=case.pk).satisfaction == "satisfied"


def test_callback_no_longer_reopens_by_itself(people, category, department):
    case = closed(people, category, department)
    with pytest.raises(ValidationFailed) as excinfo:
        callback(people, case, "unsatisfied", reopen=True, note="问题复发")
    assert "reopen" in excinfo.value.details
    assert Case.objects.get(pk=case.pk).status == Status.CLOSED


# ---------------------------------------------------------------- unreachable


def attempt(people, case):
    return case_transition(case=case, action=Action.CALLBACK_ATTEMPT, actor=people["operator"])


def test_unanswered_calls_are_counted_and_the_third_leaves_the_queue_as_unreachable(client, people, category, department):
    case = closed(people, category, department)
    for n in (1, 2):
        case = attempt(people, case)
        assert case.callback_attempts == n and case.callback_status == "pending"
    case = attempt(people, case)
    assert case.callback_attempts == 3 and case.callback_status == "unreachable" and not case.satisfaction
    payloads = [e.payload for e in case.events.filter(action=Action.CALLBACK_ATTEMPT)]
    assert payloads == [{"attempt": 1, "final": False}, {"attempt": 2, "final": False}, {"attempt": 3, "final": True}]
    with pytest.raises(InvalidTransition):
        callback(people, case)
    client.force_login(people["operator"])
    assert case.number not in client.get(reverse("cases:desk_operator"), {"tab": "callback"}).content.decode()


@override_settings(CITYOPS_CALLBACK_MAX_ATTEMPTS=1)
def test_the_number_of_attempts_is_a_setting(people, category, department):
    case = attempt(people, closed(people, category, department))
    assert case.callback_status == "unreachable"


def test_an_answered_callback_after_a_missed_one_still_fixes_the_result(people, category, department):
    case = callback(people, attempt(people, closed(people, category, department)))
    assert case.satisfaction == "satisfied" and case.callback_attempts == 1 and case.callback_status == "done"


def test_the_unreachable_button_on_the_desk_records_an_attempt(client, people, category, department):
    case = closed(people, category, department)
    client.force_login(people["operator"])
    response = client.post(reverse("cases:action", args=[case.number, "callback_attempt"]), {"version": case.version}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert Case.objects.get(pk=case.pk).callback_attempts == 1


# ---------------------------------------------------------------- correction


def test_the_leader_corrects_a_result_with_a_reason_and_it_is_audited_and_on_the_timeline(people, category, department):
    case = callback(people, closed(people, category, department), "unsatisfied")
    at = case.satisfaction_at
    case = case_transition(case=case, action=Action.CORRECT_SATISFACTION, actor=people["leader"],
                           data={"satisfaction": "satisfied", "note": "回访员误录，录音核实为满意"})
    assert case.satisfaction == "satisfied" and case.satisfaction_at == at and case.satisfaction_source == "callback"
    event = case.events.get(action=Action.CORRECT_SATISFACTION)
    assert event.payload == {"satisfaction": "satisfied", "previous": "unsatisfied"}
    assert event.note == "回访员误录，录音核实为满意" and event.actor == people["leader"]
    entry = AuditEntry.objects.get(target=f"case:{case.number}", details__op="correct_satisfaction")
    assert entry.actor == people["leader"]
    assert entry.details["previous"] == "unsatisfied" and entry.details["reason"] == "回访员误录，录音核实为满意"
    view = next(v for v in event_views([event]))
    assert view.action_label == "更正满意度" and ("原满意度", "不满意") in view.highlights


def test_a_correction_without_a_reason_is_refused(people, category, department):
    case = callback(people, closed(people, category, department), "unsatisfied")
    with pytest.raises(ValidationFailed) as excinfo:
        case_transition(case=case, action=Action.CORRECT_SATISFACTION, actor=people["leader"], data={"satisfaction": "satisfied"})
    assert "note" in excinfo.value.details
    assert Case.objects.get(pk=case.pk).satisfaction == "unsatisfied"
    assert not AuditEntry.objects.filter(details__op="correct_satisfaction").exists()


@pytest.mark.parametrize("role", ["operator", "dispatcher"])
def test_only_the_leader_corrects_a_result(people, category, department, role):
    case = callback(people, closed(people, category, department), "unsatisfied")
    with pytest.raises(NotAllowed):
        case_transition(case=case, action=Action.CORRECT_SATISFACTION, actor=people[role],
                        data={"satisfaction": "satisfied", "note": "理由"})


def test_a_case_without_a_result_cannot_be_corrected(people, category, department):
    with pytest.raises(InvalidTransition):
        case_transition(case=closed(people, category, department), action=Action.CORRECT_SATISFACTION,
                        actor=people["leader"], data={"satisfaction": "satisfied", "note": "理由"})


def test_the_leaders_case_page_offers_the_correction(client, people, category, department):
    case = callback(people, closed(people, category, department))
    client.force_login(people["leader"])
    assert 'data-action="correct_satisfaction"' in client.get(reverse("cases:detail", args=[case.number])).content.decode()


# ---------------------------------------------------------------- 不满意复核


def test_an_unsatisfied_callback_opens_a_review_on_the_dispatcher_desk(client, people, category, department):
    case = callback(people, closed(people, category, department), "unsatisfied")
    assert case.review_status == "pending"
    satisfied = callback(people, closed(people, category, department), "satisfied")
    assert not satisfied.review_status
    client.force_login(people["dispatcher"])
    html = client.get(reverse("cases:desk_dispatcher"), {"tab": "review"}).content.decode()
    assert "不满意复核" in html and case.number in html and satisfied.number not in html
    assert 'data-action-loader="reopen"' in html and 'data-action-loader="review"' in html


def test_a_review_note_closes_the_review_as_an_event(people, category, department):
    case = callback(people, closed(people, category, department), "unsatisfied")
    with pytest.raises(ValidationFailed):
        case_transition(case=case, action=Action.REVIEW, actor=people["dispatcher"], data={})
    case = case_transition(case=case, action=Action.REVIEW, actor=people["dispatcher"], data={"note": "已向市民解释政策"})
    assert case.review_status == "reviewed" and case.status == Status.CLOSED and case.satisfaction == "unsatisfied"
    event = case.events.get(action=Action.REVIEW)
    assert event.note == "已向市民解释政策" and event.payload == {"previous_satisfaction": "unsatisfied"}
    with pytest.raises(InvalidTransition):
        case_transition(case=case, action=Action.REOPEN, actor=people["dispatcher"], data={"note": "再办"})


def test_reopen_sends_the_case_back_to_its_department_with_a_fresh_clock_and_a_fresh_callback(people, category, department):
    case = callback(people, closed(people, category, department), "unsatisfied")
    case = case_transition(case=case, action=Action.REOPEN, actor=people["dispatcher"], data={"note": "垃圾仍未清走"})
    assert case.status == Status.DISPATCHED and case.department == department
    assert case.deadline is not None and case.closed_at is None and case.stage == "sign"
    assert (case.satisfaction, case.satisfaction_at, case.satisfaction_source) == ("", None, "")
    assert case.callback_status == "" and case.callback_attempts == 0 and case.review_status == "reopened"
    event = case.events.get(action=Action.REOPEN)
    assert event.payload["previous_satisfaction"] == "unsatisfied" and event.department == department
    assert case.events.get(action=Action.CALLBACK).payload["satisfaction"] == "unsatisfied"  # the earlier result stays

    case = case_transition(case=case, action=Action.SIGN, actor=people["dept"])
    case = case_transition(case=case, action=Action.RESPOND, actor=people["dept"], data={"result": "已彻底清运"})
    case = case_transition(case=case, action=Action.VERIFY, actor=people["dispatcher"], data={"passed": True})
    assert case.callback_status == "pending"
    case = callback(people, case, "satisfied")
    assert case.satisfaction == "satisfied" and case.review_status == "reopened"


def test_a_direct_answer_cannot_be_reopened_only_reviewed(people, category):
    case = case_transition(case=make_case(category=category), action=Action.ANSWER, actor=people["operator"],
                           data={"answer": "已电话答复"})
    case = callback(people, case, "unsatisfied")
    with pytest.raises(InvalidTransition):
        case_transition(case=case, action=Action.REOPEN, actor=people["dispatcher"], data={"note": "再办"})
    assert case_transition(case=case, action=Action.REVIEW, actor=people["dispatcher"], data={"note": "解释"}).review_status == "reviewed"


def test_reopen_from_the_review_tab_posts_through_the_action_form(client, people, category, department):
    case = callback(people, closed(people, category, department), "unsatisfied")
    client.force_login(people["dispatcher"])
    response = client.post(reverse("cases:action", args=[case.number, "reopen"]), {"version": case.version, "note": "重新清运"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Status.DISPATCHED
    assert CaseEvent.objects.filter(case=case, action=Action.REOPEN).count() == 1
