"""The citizen's own rating next to the staff callback: one result per case, the citizen's
rating kept apart, an unsatisfied rating followed up in the dispatcher's 不满意复核."""

import pytest
from django.urls import reverse
from django.utils import timezone

from cityops.cases.errors import InvalidTransition
from cityops.cases.models import Case
from cityops.cases.states import Action, Status
from cityops.cases.tests.factories import make_case
from cityops.cases.workflow import case_transition
from cityops.intake.services import citizen_rate
from cityops.intake.tests.support import closed_case, report_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(db):
    from cityops.accounts.tests.factories import UserFactory

    return UserFactory(role="operator")


@pytest.fixture
def dispatcher(db):
    from cityops.accounts.tests.factories import UserFactory

    return UserFactory(role="dispatcher")


def rate(client, case, satisfaction, comment=""):
    return client.post(reverse("intake:rate"), {"code": case.tracking_code, "satisfaction": satisfaction, "comment": comment})


def test_a_citizen_rating_then_a_staff_callback_leaves_both_unchanged(client, category, department, operator):
    case = closed_case(category=category, department=department)
    assert rate(client, case, "unsatisfied", "垃圾还在").status_code == 302
    case.refresh_from_db()
    with pytest.raises(InvalidTransition):
        case_transition(case=case, action=Action.CALLBACK, actor=operator, data={"satisfaction": "satisfied"})
    case.refresh_from_db()
    assert case.citizen_satisfaction == case.satisfaction == "unsatisfied"
    assert case.satisfaction_source == "citizen"
    assert not case.events.filter(action=Action.CALLBACK).exists()


def test_a_staff_callback_first_keeps_the_result_and_the_citizen_still_rates_for_themselves(client, category, department, operator):
    case = closed_case(category=category, department=department)
    case = case_transition(case=case, action=Action.CALLBACK, actor=operator, data={"satisfaction": "satisfied"})
    assert rate(client, case, "unsatisfied").status_code == 302
    case.refresh_from_db()
    assert case.satisfaction == "satisfied" and case.satisfaction_source == "callback"
    assert case.citizen_satisfaction == "unsatisfied"
    assert case.events.get(action=Action.RATE).payload == {"satisfaction": "unsatisfied", "result": False}
    assert case.review_status == "pending"  # the citizen's own 不满意 is followed up all the same
    page = client.get(reverse("intake:track"), {"code": case.tracking_code}).content.decode()
    assert "<dt>您的评价</dt><dd>不满意</dd>" in page
    assert "<dd>满意</dd>" not in page  # the staff result is not shown as if it were the citizen's
    assert "工作人员回访，记录满意度：满意" in page and "您的评价：不满意" in page


def test_a_citizens_unsatisfied_rating_opens_a_review_on_the_dispatcher_desk(client, category, department, dispatcher):
    case = closed_case(category=category, department=department)
    rate(client, case, "unsatisfied", "根本没人来")
    case.refresh_from_db()
    assert case.review_status == "pending"
    client.force_login(dispatcher)
    html = client.get(reverse("cases:desk_dispatcher"), {"tab": "review"}).content.decode()
    assert case.number in html and "根本没人来" in html


def test_a_citizen_rates_once_even_after_a_reopen(client, category, department, dispatcher):
    case = closed_case(category=category, department=department)
    rate(client, case, "unsatisfied")
    case.refresh_from_db()
    case = case_transition(case=case, action=Action.REOPEN, actor=dispatcher, data={"note": "重新清运"})
    assert case.status == Status.DISPATCHED and case.citizen_satisfaction == "unsatisfied" and not case.satisfaction
    Case.objects.filter(pk=case.pk).update(status=Status.CLOSED, closed_at=timezone.now(), callback_status="pending")
    case.refresh_from_db()
    with pytest.raises(InvalidTransition):
        citizen_rate(case, "satisfied")


def test_the_report_form_offers_no_callback(client, geo):
    html = client.get(reverse("intake:report")).content.decode()
    assert 'name="no_callback"' in html and "不需要回访" in html
    client.post(reverse("intake:report"), report_data(no_callback="on"))
    assert Case.objects.get().no_callback is True


def test_the_operator_intake_records_no_callback(client, operator, category):
    client.force_login(operator)
    client.post(reverse("cases:desk_operator"), {
        "channel": "hotline", "case_type": "consult", "description": "咨询垃圾分类投放时间", "category": category.code,
        "reporter_phone": "13700001111", "no_callback": "on",
    })
    case = Case.objects.get(description="咨询垃圾分类投放时间")
    assert case.no_callback is True
    case = case_transition(case=case, action=Action.ANSWER, actor=operator, data={"answer": "每日 7-9 时"})
    assert case.callback_status == "not_needed"


def test_a_merged_duplicate_is_not_rated_on_its_own(category):
    master = make_case(category=category, description="主案件")
    dup = make_case(category=category)
    Case.objects.filter(pk=dup.pk).update(status=Status.CLOSED, master=master)
    dup.refresh_from_db()
    with pytest.raises(InvalidTransition):
        citizen_rate(dup, "satisfied")
