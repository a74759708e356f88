"""Who is charged for what: returns and mis-dispatches between the department and the dispatcher,
and cases left waiting in the center's own queues (立案, 派遣) past their deadline at the
period's end. Each test builds its own few cases in March 2026 (see `history.py` for the
calendar: 2026-03-02 is a Monday; the register stage is 1 working hour, dispatch 1 working hour)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from cityops.accounts.tests.factories import UserFactory
from cityops.assessment import metrics
from cityops.assessment.periods import month_period
from cityops.assessment.tests.history import TZ, at
from cityops.cases.models import Case
from cityops.cases.services import CaseInput, case_create
from cityops.cases.states import Action
from cityops.cases.tests.factories import DepartmentFactory, LeafCategoryFactory
from cityops.cases.workflow import case_transition

pytestmark = pytest.mark.django_db

MARCH = month_period(date(2026, 3, 1))


@pytest.fixture
def world(db):
    dept_a = DepartmentFactory(code="chengguan", name="区城市管理局", short_name="区城管局")
    dept_b = DepartmentFactory(code="zhujian", name="区住建局", short_name="区住建局")
    return {
        "category": LeafCategoryFactory(),
        "a": dept_a, "b": dept_b,
        "op": UserFactory(role="operator"), "disp": UserFactory(role="dispatcher"),
        "user_a": UserFactory(role="department", department=dept_a),
        "user_b": UserFactory(role="department", department=dept_b),
    }


def act(case: Case, action: str, actor, when: datetime, **data) -> Case:
    return case_transition(case=Case.objects.get(pk=case.pk), action=action, actor=actor, data=data, now=when)


def new_case(world, when: datetime) -> Case:
    return case_create(
        data=CaseInput(description="井盖缺失", category=world["category"].code, require_location=False), now=when,
    )


def dispatched_to_a(world, hour: int = 9) -> Case:
    case = new_case(world, at(3, 2, hour, 0))
    case = act(case, Action.REGISTER, world["op"], at(3, 2, hour, 5))
    case = act(case, Action.DISPATCH, world["disp"], at(3, 2, hour, 10), department=world["a"].code)
    return act(case, Action.SIGN, world["user_a"], at(3, 2, hour, 15))


def returned_as_not_our_duty(world, case: Case) -> Case:
    return act(case, Action.RETURN, world["user_a"], at(3, 2, 10, 0), reason="not_our_duty", note="属住建局职责",
               suggested_department=world["b"].code)


def dept_counts(world, key: str) -> dict[str, int]:
    return metrics.department_counts(MARCH)[world[key].pk]


def dispatcher(world) -> dict[str, int]:
    return metrics.dispatcher_counts(MARCH, [world["disp"].pk])[world["disp"].pk]


# ---------------------------------------------------------------- returns


def test_an_accepted_not_our_duty_return_re_dispatched_elsewhere_is_the_dispatchers_mis_dispatch(world):
    case = returned_as_not_our_duty(world, dispatched_to_a(world))
    case = act(case, Action.ACCEPT_RETURN, world["disp"], at(3, 2, 10, 20))
    act(case, Action.DISPATCH, world["disp"], at(3, 2, 10, 30), department=world["b"].code)
    assert dept_counts(world, "a")["returned"] == 0
    assert (dispatcher(world)["dispatches"], dispatcher(world)["dispatches_accurate"]) == (2, 1)
    assert metrics.dispatch_accuracy_counts(MARCH) == {"dispatches": 2, "dispatches_accurate": 1}


def test_an_immediate_not_our_duty_return_re_dispatched_elsewhere_is_a_mis_dispatch_too(world, settings):
    settings.CITYOPS_RETURN_NEEDS_ACCEPTANCE = False
    case = returned_as_not_our_duty(world, dispatched_to_a(world))
    act(case, Action.DISPATCH, world["disp"], at(3, 2, 10, 30), department=world["b"].code)
    assert dept_counts(world, "a")["returned"] == 0
    assert dispatcher(world)["dispatches_accurate"] == 1


def test_a_rejected_return_counts_against_the_department_and_not_the_dispatcher(world):
    case = returned_as_not_our_duty(world, dispatched_to_a(world))
    act(case, Action.REJECT_RETURN, world["disp"], at(3, 2, 10, 20), note="属城管职责，请处置")
    counts = dept_counts(world, "a")
    assert (counts["dispatched"], counts["returned"]) == (1, 1)
    assert (dispatcher(world)["dispatches"], dispatcher(world)["dispatches_accurate"]) == (1, 1)


def test_a_return_sent_back_to_the_same_department_is_its_return_not_a_mis_dispatch(world):
    case = returned_as_not_our_duty(world, dispatched_to_a(world))
    case = act(case, Action.ACCEPT_RETURN, world["disp"], at(3, 2, 10, 20))
    act(case, Action.DISPATCH, world["disp"], at(3, 2, 10, 30), department=world["a"].code)
    assert dept_counts(world, "a")["returned"] == 1
    assert (dispatcher(world)["dispatches"], dispatcher(world)["dispatches_accurate"]) == (2, 2)


def test_a_return_still_waiting_for_the_dispatcher_is_nobodys_yet(world):
    returned_as_not_our_duty(world, dispatched_to_a(world))
    assert dept_counts(world, "a")["returned"] == 0
    assert dispatcher(world)["dispatches_accurate"] == 1


# ---------------------------------------------------------------- the center's own queues


def test_a_case_waiting_past_the_register_deadline_at_the_cutoff_counts_against_the_operators(world):
    dispatched_to_a(world)  # registered on time by the operator
    new_case(world, at(3, 31, 9, 0))  # never registered: its hour ran out at 10:00 on 31 March
    op = world["op"]
    counts = metrics.operator_counts(MARCH, [op.pk])[op.pk]
    assert (counts["registered_by"], counts["registered_on_time"], counts["register_overdue_waiting"]) == (1, 1, 1)
    assert counts["register_due"] == 2


def test_a_case_still_inside_its_register_limit_at_the_cutoff_is_not_counted(world):
    dispatched_to_a(world)
    new_case(world, datetime(2026, 3, 31, 23, 50, tzinfo=TZ))  # its limit runs into April
    op = world["op"]
    assert metrics.operator_counts(MARCH, [op.pk])[op.pk]["register_overdue_waiting"] == 0


def test_a_case_marked_overdue_in_the_dispatch_queue_counts_for_the_month_even_if_dispatched_later(world):
    from cityops.assessment.tests.history import overdue

    dispatched_to_a(world)
    waiting = act(new_case(world, at(3, 30, 9, 0)), Action.REGISTER, world["op"], at(3, 30, 9, 5))
    overdue(waiting, "dispatch", at(3, 30, 10, 6))
    before = dispatcher(world)
    assert (before["dispatches"], before["dispatch_overdue_waiting"], before["dispatch_due"]) == (1, 1, 2)
    # dispatched in April: March, a closed month, keeps its figure
    act(waiting, Action.DISPATCH, world["disp"], at(4, 1, 9, 0) + timedelta(days=1), department=world["a"].code)
    assert dispatcher(world) == before


def test_nobody_is_charged_for_a_queue_when_they_did_no_such_step(world):
    new_case(world, at(3, 31, 9, 0))
    op = world["op"]
    assert metrics.operator_counts(MARCH, [op.pk]).get(op.pk, {}).get("register_overdue_waiting") is None


def test_a_case_waiting_past_its_verify_deadline_counts_against_its_grids_inspector_or_else_the_dispatchers(world):
    from cityops.assessment.tests.history import SQUARE
    from cityops.geo.models import Region, RegionLevel, UnitGrid

    district = Region.objects.create(code="630102", name="城东区", level=RegionLevel.DISTRICT)
    street = Region.objects.create(code="630102001", name="东关大街街道", level=RegionLevel.STREET, parent=district)
    community = Region.objects.create(code="630102001001", name="北关社区", level=RegionLevel.COMMUNITY, parent=street)
    grid = UnitGrid.objects.create(code="63010200100101", community=community, street=street, boundary=SQUARE)
    inspector = UserFactory(role="inspector")
    inspector.grids.add(grid)
    verified = act(dispatched_to_a(world), Action.RESPOND, world["user_a"], at(3, 2, 11, 0), result="已处置")
    act(verified, Action.VERIFY, world["disp"], at(3, 2, 11, 30), passed=True)
    in_grid = act(dispatched_to_a(world, hour=10), Action.RESPOND, world["user_a"], at(3, 2, 11, 0), result="已处置")
    Case.objects.filter(pk=in_grid.pk).update(grid=grid)
    act(dispatched_to_a(world, hour=11), Action.RESPOND, world["user_a"], at(3, 2, 12, 0), result="已处置")  # no grid
    disp = dispatcher(world)
    assert (disp["verifications"], disp["verify_overdue_waiting"], disp["verify_due"]) == (1, 1, 2)
    mine = metrics.inspector_counts(MARCH, [inspector.pk])[inspector.pk]
    assert (mine["verifications"], mine["verify_overdue_waiting"], mine["verify_due"]) == (0, 1, 1)
