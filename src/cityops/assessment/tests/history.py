"""A small fixed history (February and March 2026) built through the real workflow with explicit
timestamps. The expected figures in the tests are worked out by hand from this story.

Calendar: 2026-03-02 is a Monday, no holidays in the weeks used; office hours 08:30–12:00 and
14:00–18:00. The test category's handling limit is 2 working days from dispatch, so a case
dispatched on Monday 2 March is due at 18:00 on Wednesday 4 March.

March, department A (chengguan):
  c1  dispatched, responded 3/3 (on time), verified, callback satisfied          [street S1, city 12345]
  c2  dispatched, responded 3/6 (late), verified 3/10 (verify stage overdue), callback unsatisfied [S1]
  c3  dispatched, responded, verify FAILED (返工; that verify stage overdue), responded, verified [S1]
  c4  dispatched, signed, never responded → overdue and unhandled                [S1]
  c5  dispatched to A, returned as 非本单位职责, accepted and re-dispatched to B (a mis-dispatch of the
      dispatcher, not a return of A), handled, verified                             [S2]
  c6  dispatched, extension requested and approved, responded within the new deadline [S2]
  c7  dispatched 3/30, not due before the month ends → not 应处置                 [S2]
  c8  dispatched, suspended (挂账) and still suspended at month end → not 应处置    [S2]
March, department B (zhujian):
  c9  dispatched, responded on time, verified by inspector 1 (grid)              [S2]
  c5  (see above)
Hotline cases carry a phone, so those that close need a callback (c1, c2, c3, c5, c9, c12); inspector
reports have none.
Intake: operator 1 registers c1–c10 (c2 and c3 after their register stage went overdue; c10 is
later merged as a duplicate = 作废), rejects c11, answers c12, calls back c1 and c2. Inspector 1
reports c13–c15, inspector 2 reports c16; operator 2 registers c13, c14, c16 and rejects c15.
The dispatcher dispatches everything (the dispatch stage of c4 went overdue first), merges c10
and verifies c1, c2, c3 (twice), c5; inspector 1 verifies c9.
February: one case of A handled perfectly (for month-over-month change).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cityops.accounts.tests.factories import UserFactory
from cityops.cases.models import Case, CaseEvent, Channel
from cityops.cases.services import CaseInput, case_create
from cityops.cases.states import Action
from cityops.cases.tests.factories import DepartmentFactory, LeafCategoryFactory
from cityops.cases.workflow import case_transition
from cityops.geo.models import Region, RegionLevel, UnitGrid

TZ = ZoneInfo("Asia/Shanghai")
SQUARE = {"type": "Polygon", "coordinates": [[[101.0, 36.0], [101.1, 36.0], [101.1, 36.1], [101.0, 36.1], [101.0, 36.0]]]}


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


@dataclass
class History:
    people: dict
    dept_a: object
    dept_b: object
    s1: Region
    s2: Region
    grid: UnitGrid
    cases: dict = field(default_factory=dict)


def overdue(case: Case, stage: str, when: datetime) -> None:
    """What the SLA scan records when a stage passes its deadline."""
    CaseEvent.objects.create(
        case=case, created_at=when, actor_label="系统", action=Action.SLA_OVERDUE,
        from_status=case.status, to_status=case.status, department=case.department,
        payload={"stage": stage, "deadline": None},
    )


def build() -> History:
    category = LeafCategoryFactory()
    dept_a = DepartmentFactory(code="chengguan", name="区城市管理局", short_name="区城管局")
    dept_b = DepartmentFactory(code="zhujian", name="区住建局", short_name="区住建局")
    district = Region.objects.create(code="630102", name="城东区", level=RegionLevel.DISTRICT)
    s1 = Region.objects.create(code="630102001", name="东关大街街道", short_name="东关", level=RegionLevel.STREET, parent=district)
    s2 = Region.objects.create(code="630102002", name="清真巷街道", short_name="清真巷", level=RegionLevel.STREET, parent=district)
    community = Region.objects.create(code="630102002001", name="北关社区", level=RegionLevel.COMMUNITY, parent=s2)
    grid = UnitGrid.objects.create(code="63010200200101", community=community, street=s2, boundary=SQUARE)
    people = {
        "op": UserFactory(role="operator", username="op1", display_name="受理员甲"),
        "op2": UserFactory(role="operator", username="op2", display_name="受理员乙"),
        "disp": UserFactory(role="dispatcher", username="disp1", display_name="派遣员甲"),
        "leader": UserFactory(role="leader", username="leader1"),
        "a": UserFactory(role="department", department=dept_a, username="dept-a"),
        "b": UserFactory(role="department", department=dept_b, username="dept-b"),
        "insp": UserFactory(role="inspector", username="insp1", display_name="网格员甲"),
        "insp2": UserFactory(role="inspector", username="insp2", display_name="网格员乙"),
    }
    people["insp"].grids.add(grid)
    h = History(people, dept_a, dept_b, s1, s2, grid)
    op, op2, disp, a, b = people["op"], people["op2"], people["disp"], people["a"], people["b"]

    def new(name: str, when: datetime, *, street=None, channel=Channel.HOTLINE, actor=None) -> Case:
        case = case_create(
            data=CaseInput(description=f"测试案件{name}", channel=channel, category=category.code, require_location=False,
                           reporter_phone="13900000000" if channel != Channel.INSPECTOR else ""),
            actor=actor, now=when,
        )
        if street is not None:
            Case.objects.filter(pk=case.pk).update(street=street)
            case.refresh_from_db()
        h.cases[name] = case
        return case

    def act(case: Case, action: str, actor, when: datetime, **data) -> Case:
        fresh = case_transition(case=Case.objects.get(pk=case.pk), action=action, actor=actor, data=data, now=when)
        for key, value in list(h.cases.items()):
            if value.pk == fresh.pk:
                h.cases[key] = fresh
        return fresh

    def to_department(case: Case, dept, handler, day: int, hour: int, minute: int) -> Case:
        case = act(case, Action.DISPATCH, disp, at(3, day, hour, minute), department=dept.code)
        return act(case, Action.SIGN, handler, at(3, day, hour, minute) + timedelta(minutes=5))

    # ---- February: department A, one perfect case (previous month of the ranking)
    f1 = new("f1", at(2, 2, 8, 50), street=s1)
    f1 = act(f1, Action.REGISTER, op, at(2, 2, 8, 55))
    f1 = act(f1, Action.DISPATCH, disp, at(2, 2, 9, 0), department=dept_a.code)
    f1 = act(f1, Action.SIGN, a, at(2, 2, 9, 30))
    f1 = act(f1, Action.RESPOND, a, at(2, 3, 10, 0), result="已处置")
    f1 = act(f1, Action.VERIFY, disp, at(2, 3, 15, 0), passed=True)
    act(f1, Action.CALLBACK, op, at(2, 4, 10, 0), satisfaction="satisfied")

    # ---- March intake
    for i, street in [(1, s1), (2, s1), (3, s1), (4, s1), (5, s2), (6, s2), (7, s2), (8, s2), (9, s2), (10, None)]:
        channel = Channel.CITY_PLATFORM if i == 1 else Channel.HOTLINE
        created = at(3, 30, 8, 40) if i == 7 else at(3, 2, 8, 40)
        case = new(f"c{i}", created, street=street, channel=channel)
        if i in (2, 3):  # the register stage (1 working hour) ran out at 09:40
            overdue(case, "register", created.replace(hour=9, minute=41))
            act(case, Action.REGISTER, op, created.replace(hour=9, minute=45))
        else:
            act(case, Action.REGISTER, op, created.replace(minute=45))
    act(new("c11", at(3, 2, 9, 0)), Action.REJECT, op, at(3, 2, 9, 10), note="重复反映")
    act(new("c12", at(3, 2, 9, 0)), Action.ANSWER, op, at(3, 2, 9, 10), answer="已电话答复")
    insp, insp2 = people["insp"], people["insp2"]
    c13 = new("c13", at(3, 3, 9, 0), channel=Channel.INSPECTOR, actor=insp)
    c14 = new("c14", at(3, 3, 9, 5), channel=Channel.INSPECTOR, actor=insp)
    c15 = new("c15", at(3, 3, 9, 10), channel=Channel.INSPECTOR, actor=insp)
    c16 = new("c16", at(3, 3, 9, 15), channel=Channel.INSPECTOR, actor=insp2)
    act(c13, Action.REGISTER, op2, at(3, 3, 9, 20))
    act(c14, Action.REGISTER, op2, at(3, 3, 9, 25))
    act(c15, Action.REJECT, op2, at(3, 3, 9, 30), note="不属于城市管理问题")
    act(c16, Action.REGISTER, op2, at(3, 3, 9, 35))

    # ---- March handling
    c = h.cases
    c1 = to_department(c["c1"], dept_a, a, 2, 9, 20)
    act(c["c10"], Action.MERGE, disp, at(3, 2, 12, 0), master=c1.number)  # 作废: a duplicate of c1
    c1 = act(c1, Action.RESPOND, a, at(3, 3, 10, 0), result="已清运")
    c1 = act(c1, Action.VERIFY, disp, at(3, 3, 15, 0), passed=True)
    act(c1, Action.CALLBACK, op, at(3, 4, 10, 0), satisfaction="satisfied")

    c2 = to_department(c["c2"], dept_a, a, 2, 9, 50)
    c2 = act(c2, Action.RESPOND, a, at(3, 6, 10, 0), result="已清运")  # deadline was 3/4 18:00: late
    overdue(c2, "verify", at(3, 9, 18, 1))
    c2 = act(c2, Action.VERIFY, disp, at(3, 10, 10, 0), passed=True)
    act(c2, Action.CALLBACK, op, at(3, 10, 11, 0), satisfaction="unsatisfied")

    c3 = to_department(c["c3"], dept_a, a, 2, 9, 55)
    c3 = act(c3, Action.RESPOND, a, at(3, 3, 11, 0), result="已处置")
    overdue(c3, "verify", at(3, 3, 14, 30))  # this verify round is late …
    c3 = act(c3, Action.VERIFY, disp, at(3, 3, 15, 0), passed=False, note="仍有残留")
    c3 = act(c3, Action.RESPOND, a, at(3, 4, 10, 0), result="已返工处置")  # new deadline 3/5 18:00
    act(c3, Action.VERIFY, disp, at(3, 4, 15, 0), passed=True)  # … the second is not

    c4 = c["c4"]
    overdue(c4, "dispatch", at(3, 2, 9, 50))
    to_department(c4, dept_a, a, 2, 10, 0)  # never responded

    c5 = act(c["c5"], Action.DISPATCH, disp, at(3, 2, 10, 10), department=dept_a.code)
    c5 = act(c5, Action.RETURN, a, at(3, 2, 11, 0), reason="not_our_duty", note="属住建局职责")
    c5 = act(c5, Action.ACCEPT_RETURN, disp, at(3, 2, 11, 10))
    c5 = to_department(c5, dept_b, b, 2, 11, 30)
    c5 = act(c5, Action.RESPOND, b, at(3, 3, 10, 0), result="已维修")
    act(c5, Action.VERIFY, disp, at(3, 3, 16, 0), passed=True)

    c6 = to_department(c["c6"], dept_a, a, 2, 10, 20)
    c6 = act(c6, Action.REQUEST_EXTENSION, a, at(3, 3, 10, 0), value="2", unit="work_day", note="需协调产权单位")
    c6 = act(c6, Action.APPROVE_EXTENSION, disp, at(3, 3, 11, 0))
    act(c6, Action.RESPOND, a, at(3, 5, 10, 0), result="已处置")

    to_department(c["c7"], dept_a, a, 30, 9, 0)  # due 4/1 18:00: after the month

    c8 = to_department(c["c8"], dept_a, a, 2, 10, 30)
    act(c8, Action.SUSPEND, disp, at(3, 3, 10, 0), note="需纳入年度维修计划")

    c9 = c["c9"]
    Case.objects.filter(pk=c9.pk).update(grid=grid)
    c9 = to_department(c9, dept_b, b, 2, 9, 0)
    c9 = act(c9, Action.RESPOND, b, at(3, 3, 9, 0), result="已维修")
    act(c9, Action.VERIFY, insp, at(3, 3, 14, 30), passed=True)
    return h
