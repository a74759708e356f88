"""The citizen's rating is the `rate` action of the one transition service: its guard, its
rule and its event come from `cases.workflow.case_transition`, not from a writer of its own."""

import pytest
from django.utils import timezone

from cityops.accounts.tests.factories import UserFactory
from cityops.cases import workflow
from cityops.cases.errors import InvalidTransition
from cityops.cases.models import Case, CaseEvent
from cityops.cases.states import CITIZEN_TRANSITIONS, TRANSITIONS, USER_ACTIONS, Action, Status
from cityops.cases.tests.factories import make_case
from cityops.intake.services import CITIZEN_LABEL, citizen_can_rate, citizen_rate

pytestmark = pytest.mark.django_db


def _closed(**fields) -> Case:
    case = make_case()
    Case.objects.filter(pk=case.pk).update(**{"status": Status.CLOSED, "closed_at": timezone.now(), "callback_status": "pending", **fields})
    return Case.objects.get(pk=case.pk)


def test_citizen_rate_writes_the_case_and_its_event_through_case_transition(monkeypatch):
    calls = []
    real = workflow.case_transition

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr("cityops.intake.services.case_transition", spy)
    case = _closed()
    rated = citizen_rate(case, "satisfied", " 很及时 ")
    assert [(c["action"], c["system_label"], c.get("actor")) for c in calls] == [(Action.RATE, CITIZEN_LABEL, None)]
    assert rated.citizen_satisfaction == rated.satisfaction == "satisfied" and rated.version == case.version + 1
    event = CaseEvent.objects.get(case=case, action=Action.RATE)
    assert (event.actor, event.actor_label, event.from_status, event.to_status) == (None, "市民", Status.CLOSED, Status.CLOSED)
    assert event.payload == {"satisfaction": "satisfied", "result": True} and event.note == "很及时"


def test_the_rate_action_works_in_the_service_itself():
    case = _closed()
    rated = workflow.case_transition(case=case, action=Action.RATE, system_label="市民", data={"satisfaction": "unsatisfied"})
    assert rated.citizen_satisfaction == "unsatisfied" and rated.review_status == "pending"


def test_a_signed_in_user_cannot_take_the_citizens_rate_action():
    case = _closed()
    with pytest.raises(InvalidTransition):
        workflow.case_transition(case=case, action=Action.RATE, actor=UserFactory(role="operator"),
                                 data={"satisfaction": "satisfied"})
    assert not CaseEvent.objects.filter(case=case, action=Action.RATE).exists()


def test_rate_is_no_desk_or_api_action():
    assert Action.RATE not in TRANSITIONS and Action.RATE not in USER_ACTIONS
    assert Action.RATE in CITIZEN_TRANSITIONS


def test_a_staff_result_is_not_overwritten_by_the_citizens_rating():
    case = _closed(satisfaction="unsatisfied", satisfaction_source="callback", callback_status="done")
    rated = citizen_rate(case, "satisfied")
    assert rated.satisfaction == "unsatisfied" and rated.satisfaction_source == "callback"
    assert rated.citizen_satisfaction == "satisfied"
    assert CaseEvent.objects.get(case=case, action=Action.RATE).payload == {"satisfaction": "satisfied", "result": False}


def test_a_second_rating_is_refused_by_the_guard_with_the_old_message_and_details():
    case = citizen_rate(_closed(), "satisfied")
    assert not citizen_can_rate(case)
    with pytest.raises(InvalidTransition) as refused:
        citizen_rate(case, "unsatisfied")
    assert refused.value.message == "您已评价过该案件，不能重复评价。"
    assert refused.value.details == {"satisfaction": "already_rated"}
    assert CaseEvent.objects.filter(case=case, action=Action.RATE).count() == 1


def test_an_open_case_is_refused_with_the_rate_actions_own_status_message():
    case = make_case()
    assert not citizen_can_rate(case)
    with pytest.raises(InvalidTransition) as refused:
        citizen_rate(case, "satisfied")
    assert refused.value.message == "案件尚未办结，办结后才能评价。" and refused.value.details == {"status": "new"}


def test_a_stale_copy_of_a_case_the_citizen_rated_meanwhile_says_already_rated():
    case = _closed()
    citizen_rate(Case.objects.get(pk=case.pk), "satisfied")
    with pytest.raises(InvalidTransition) as refused:
        citizen_rate(case, "unsatisfied")  # read before the first rating
    assert refused.value.details == {"satisfaction": "already_rated"}


def test_a_comment_over_500_characters_is_refused():
    from cityops.cases.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as refused:
        citizen_rate(_closed(), "satisfied", "好" * 501)
    assert refused.value.details == {"comment": "too_long"}
