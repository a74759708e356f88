"""The transition table, walked exhaustively, and the rules around it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.errors import CaseNotFound, Conflict, InvalidTransition, NotAllowed, ValidationFailed
from cityops.cases.models import Case, CaseEvent, Notification
from cityops.cases.states import TRANSITIONS, Action, Status
from cityops.cases.tests.factories import make_case
from cityops.cases.workflow import case_transition

pytestmark = pytest.mark.django_db

EXPECTED_TARGET = {
    Action.REGISTER: Status.REGISTERED, Action.REJECT: Status.REJECTED, Action.ANSWER: Status.CLOSED,
    Action.MERGE: Status.CLOSED, Action.DISPATCH: Status.DISPATCHED, Action.SIGN: Status.IN_PROGRESS,
    # RETURN keeps the state while the dispatcher decides (CITYOPS_RETURN_NEEDS_ACCEPTANCE, on by default).
    Action.ACCEPT_RETURN: Status.RETURNED, Action.REQUEST_EXTENSION: Status.IN_PROGRESS,
    Action.APPROVE_EXTENSION: Status.IN_PROGRESS, Action.DENY_EXTENSION: Status.IN_PROGRESS,
    Action.SUSPEND: Status.SUSPENDED, Action.RESUME: Status.IN_PROGRESS, Action.RESPOND: Status.RESPONDED,
    Action.VERIFY: Status.CLOSED, Action.CALLBACK: Status.CLOSED, Action.CALLBACK_ATTEMPT: Status.CLOSED,
    Action.CORRECT_SATISFACTION: Status.CLOSED, Action.REVIEW: Status.CLOSED, Action.REOPEN: Status.DISPATCHED,
}


def valid_input(action, master_number, department_code):
    return {
        Action.REGISTER: {}, Action.REJECT: {"note": "不属于受理范围"}, Action.ANSWER: {"answer": "已电话答复政策"},
        Action.MERGE: {"master": master_number}, Action.DISPATCH: {"department": department_code},
        Action.RETURN: {"reason": "not_our_duty", "note": "属供水公司管辖"},
        Action.REQUEST_EXTENSION: {"value": "2", "unit": "work_day", "note": "需协调施工队"},
        Action.DENY_EXTENSION: {"note": "时限内可完成"}, Action.SUSPEND: {"note": "需列入明年工程"},
        Action.REJECT_RETURN: {"note": "属本单位职责，请继续处置"},
        Action.RESPOND: {"result": "已清理完毕"}, Action.VERIFY: {"passed": True},
        Action.CALLBACK: {"satisfaction": "satisfied"},
        Action.CORRECT_SATISFACTION: {"satisfaction": "satisfied", "note": "回访员误录"},
        Action.REVIEW: {"note": "已向市民解释"}, Action.REOPEN: {"note": "垃圾仍未清走"},
    }.get(action, {})


# What a guarded action (states.GUARDS) needs besides its source status.
GUARD_FIELDS = {
    Action.ACCEPT_RETURN: {"return_pending": True, "return_request": {"reason": "not_our_duty", "note": "x"}},
    Action.REJECT_RETURN: {"return_pending": True, "return_request": {"reason": "not_our_duty", "note": "x"}},
    Action.CALLBACK: {"callback_status": "pending"},
    Action.CALLBACK_ATTEMPT: {"callback_status": "pending"},
    Action.CORRECT_SATISFACTION: {"satisfaction": "unsatisfied", "callback_status": "done"},
    Action.REVIEW: {"satisfaction": "unsatisfied", "review_status": "pending"},
    Action.REOPEN: {"satisfaction": "unsatisfied", "review_status": "pending"},
}


def meet_guard(case, action):
    if action in GUARD_FIELDS:
        Case.objects.filter(pk=case.pk).update(**GUARD_FIELDS[action])
        case.refresh_from_db()
    return case


def force_state(case, status, department):
    fields = {"status": status, "department": department if status not in (Status.NEW, Status.REGISTERED) else None}
    fields["extension_pending"] = status == Status.IN_PROGRESS
    fields["extension_request"] = {"value": "1", "unit": "work_day", "reason": "x"} if status == Status.IN_PROGRESS else None
    Case.objects.filter(pk=case.pk).update(**fields)
    case.refresh_from_db()
    return case


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_transition_table_allows_exactly_the_listed_source_states(action, status, category, department):
    admin = UserFactory(is_superuser=True, username=f"root-{action}-{status}")
    master = make_case(category=category, description="主案件")
    case = meet_guard(force_state(make_case(category=category), status, department), action)
    if action == Action.REQUEST_EXTENSION:
        Case.objects.filter(pk=case.pk).update(extension_pending=False, extension_request=None)
        case.refresh_from_db()
    events_before = CaseEvent.objects.filter(case=case).count()
    data = valid_input(action, master.number, department.code)
    if status in TRANSITIONS[action].sources:
        result = case_transition(case=case, action=action, actor=admin, data=data)
        expected = EXPECTED_TARGET.get(action, status)
        assert result.status == expected
        assert result.version == case.version + 1
        assert CaseEvent.objects.filter(case=case).count() == events_before + 1
    else:
        with pytest.raises(InvalidTransition):
            case_transition(case=case, action=action, actor=admin, data=data)
        case_after = Case.objects.get(pk=case.pk)
        assert case_after.status == status and case_after.version == case.version
        assert CaseEvent.objects.filter(case=case).count() == events_before


SOURCE_FOR = {action: sorted(t.sources)[0] for action, t in TRANSITIONS.items()}


@pytest.mark.parametrize("role", ["operator", "dispatcher", "leader", "inspector", "dept", "sysadmin", "auditor"])
@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_each_action_is_refused_to_roles_outside_the_table(action, role, people, category, department):
    user = people[role]
    master = make_case(category=category, description="主案件")
    case = meet_guard(force_state(make_case(category=category), SOURCE_FOR[action], department), action)
    if action == Action.REQUEST_EXTENSION:
        Case.objects.filter(pk=case.pk).update(extension_pending=False, extension_request=None)
        case.refresh_from_db()
    if action == Action.VERIFY and role == "inspector":
        from cityops.geo.models import Region, UnitGrid

        street = Region.objects.create(code="630102001", name="街道", level="street")
        community = Region.objects.create(code="630102001001", name="社区", level="community", parent=street)
        grid = UnitGrid.objects.create(code="63010200100101", community=community, street=street, boundary={})
        user.grids.add(grid)
        Case.objects.filter(pk=case.pk).update(grid=grid)
        case.refresh_from_db()
    role_code = "department" if role == "dept" else role
    data = valid_input(action, master.number, department.code)
    allowed = role_code in TRANSITIONS[action].roles
    if allowed:
        assert case_transition(case=case, action=action, actor=user, data=data).version == case.version + 1
    else:
        with pytest.raises((NotAllowed, CaseNotFound)):
            case_transition(case=case, action=action, actor=user, data=data)
        assert Case.objects.get(pk=case.pk).version == case.version


def test_another_departments_case_is_not_found_for_a_department_user(people, category, department):
    case = force_state(make_case(category=category), Status.DISPATCHED, department)
    with pytest.raises(CaseNotFound):
        case_transition(case=case, action=Action.SIGN, actor=people["other_dept"])


def test_a_stale_version_is_a_conflict_and_writes_nothing(people, category):
    case = make_case(category=category)
    with pytest.raises(Conflict):
        case_transition(case=case, action=Action.REGISTER, actor=people["operator"], expected_version=case.version - 1 or 99)
    assert CaseEvent.objects.filter(case=case).count() == 1


def test_acting_on_an_outdated_copy_is_a_conflict(people, category, department):
    case = case_transition(case=make_case(category=category), action=Action.REGISTER, actor=people["operator"])
    stale_copy = Case.objects.get(pk=case.pk)
    case_transition(case=case, action=Action.DISPATCH, actor=people["dispatcher"], data={"department": department.code})
    with pytest.raises(Conflict):
        case_transition(case=stale_copy, action=Action.DISPATCH, actor=people["dispatcher"], data={"department": "zhujian"})
    assert CaseEvent.objects.filter(case=case, action=Action.DISPATCH).count() == 1


@pytest.mark.parametrize(
    ("action", "status", "data", "field"),
    [
        (Action.REJECT, Status.NEW, {}, "note"),
        (Action.DISPATCH, Status.REGISTERED, {}, "department"),
        (Action.DISPATCH, Status.REGISTERED, {"department": "nope"}, "department"),
        (Action.RETURN, Status.DISPATCHED, {}, "reason"),
        (Action.RETURN, Status.DISPATCHED, {"reason": "because"}, "reason"),
        (Action.RETURN, Status.DISPATCHED, {"reason": "not_our_duty"}, "note"),
        (Action.RETURN, Status.DISPATCHED, {"reason": "not_our_duty", "note": "x", "suggested_department": "nope"},
         "suggested_department"),
        (Action.RESPOND, Status.IN_PROGRESS, {"result": "  "}, "result"),
        (Action.CALLBACK, Status.CLOSED, {"satisfaction": "great"}, "satisfaction"),
        (Action.VERIFY, Status.RESPONDED, {}, "passed"),
        (Action.VERIFY, Status.RESPONDED, {"passed": False}, "note"),
        (Action.MERGE, Status.NEW, {"master": "CD00000000-0000"}, "master"),
    ],
)
def test_missing_or_bad_input_is_refused_with_the_field_named(action, status, data, field, category, department):
    admin = UserFactory(is_superuser=True)
    case = meet_guard(force_state(make_case(category=category), status, department), action)
    Case.objects.filter(pk=case.pk).update(extension_pending=False)
    case.refresh_from_db()
    with pytest.raises(ValidationFailed) as excinfo:
        case_transition(case=case, action=action, actor=admin, data=data)
    assert field in excinfo.value.details
    assert Case.objects.get(pk=case.pk).version == case.version


def test_register_requires_a_category(people):
    case = make_case(category=None)
    with pytest.raises(ValidationFailed) as excinfo:
        case_transition(case=case, action=Action.REGISTER, actor=people["operator"])
    assert "category" in excinfo.value.details


def test_the_whole_path_from_report_to_callback(people, category, department, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case = make_case(category=category)
        case = case_transition(case=case, action=Action.REGISTER, actor=people["operator"])
        case = case_transition(case=case, action=Action.DISPATCH, actor=people["dispatcher"], data={"department": department.code})
        case = case_transition(case=case, action=Action.SIGN, actor=people["dept"])
        case = case_transition(case=case, action=Action.RESPOND, actor=people["dept"], data={"result": "已清理"})
        case = case_transition(case=case, action=Action.VERIFY, actor=people["dispatcher"], data={"passed": False, "note": "仍有残留"})
        assert case.status == Status.IN_PROGRESS and case.rework_count == 1
        case = case_transition(case=case, action=Action.RESPOND, actor=people["dept"], data={"result": "已彻底清理"})
        case = case_transition(case=case, action=Action.VERIFY, actor=people["dispatcher"], data={"passed": True})
        case = case_transition(case=case, action=Action.CALLBACK, actor=people["operator"], data={"satisfaction": "satisfied"})
    assert case.status == Status.CLOSED and case.satisfaction == "satisfied"
    assert Notification.objects.filter(recipient=people["dept"], case=case, kind="new_task").exists()
    actions = list(case.events.values_list("action", flat=True))
    assert actions == ["create", "register", "dispatch", "sign", "respond", "verify", "respond", "verify", "callback"]


def test_merge_links_the_duplicate_to_its_master(people, category):
    master = make_case(category=category, description="路灯不亮")
    dup = make_case(category=category, description="路灯坏了")
    dup = case_transition(case=dup, action=Action.MERGE, actor=people["operator"], data={"master": master.number})
    assert dup.status == Status.CLOSED and dup.master == master


def test_supervise_and_urge_keep_the_state_and_notify_the_department(people, category, department, django_capture_on_commit_callbacks):
    case = force_state(make_case(category=category), Status.DISPATCHED, department)
    with django_capture_on_commit_callbacks(execute=True):
        case = case_transition(case=case, action=Action.SUPERVISE, actor=people["leader"])
        case = case_transition(case=case, action=Action.URGE, actor=people["leader"])
    assert case.status == Status.DISPATCHED and case.supervised and case.urge_count == 1
    kinds = set(Notification.objects.filter(recipient=people["dept"]).values_list("kind", flat=True))
    assert {"supervise", "urge"} <= kinds


def test_events_are_append_only(category):
    case = make_case(category=category)
    event = case.events.first()
    event.note = "tampered"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


def test_case_numbers_count_per_day(category):
    now = timezone.now()
    first = make_case(category=category, now=now)
    second = make_case(category=category, now=now)
    tomorrow = make_case(category=category, now=now + timedelta(days=1))
    assert first.number.endswith("-0001") and second.number.endswith("-0002")
    assert tomorrow.number.endswith("-0001")
    assert first.number.startswith("CD")
