"""Helpers of the analytics tests (the fixtures are in conftest.py): the two-street district's
points, a case reported through the real intake service, the rollups' snapshot, a case walked
along the workflow, and texts that cluster into one hot issue."""

from __future__ import annotations

from django.utils import timezone

from cityops.analytics.models import DailyCount, MonthlyCount, OpenCase
from cityops.cases.models import Channel
from cityops.cases.services import CaseInput, case_create
from cityops.cases.states import Action
from cityops.cases.workflow import case_transition

DISTRICT = "630102"
WEST = (101.785, 36.625)  # inside street 001
EAST = (101.805, 36.625)  # inside street 002


def box(w: float, s: float, e: float, n: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def report(*, lonlat=WEST, category=None, channel=Channel.HOTLINE, now=None, text="小区门口暴露垃圾成堆，无人清理", phone="13800000001"):
    data = CaseInput(
        description=text, channel=channel, category=category.code if category else None,
        lon=lonlat[0] if lonlat else None, lat=lonlat[1] if lonlat else None,
        reporter_name="张三", reporter_phone=phone, require_location=lonlat is not None,
    )
    return case_create(data=data, now=now or timezone.now())


def snapshot() -> dict:
    daily = {(r.day, r.street_id, r.dim, r.key): r.n for r in DailyCount.objects.all() if r.n}
    monthly = {(r.month, r.street_id, r.dim, r.key): r.n for r in MonthlyCount.objects.all() if r.n}
    open_cases = {
        o.case_id: (o.status, o.street_id, o.category_id, o.deadline, o.warn_at, o.paused)
        for o in OpenCase.objects.all()
    }
    return {"daily": daily, "monthly": monthly, "open": open_cases}


def walk(case, people, category, department, *, close=True):
    case = case_transition(case=case, action=Action.REGISTER, actor=people["operator"], data={"category": category.code})
    case = case_transition(case=case, action=Action.DISPATCH, actor=people["dispatcher"], data={"department": department.code})
    case = case_transition(case=case, action=Action.SIGN, actor=people["dept"])
    if not close:
        return case
    case = case_transition(case=case, action=Action.RESPOND, actor=people["dept"], data={"result": "已清理"})
    case = case_transition(case=case, action=Action.VERIFY, actor=people["dispatcher"], data={"passed": True})
    return case_transition(case=case, action=Action.CALLBACK, actor=people["operator"], data={"satisfaction": "satisfied"})

HEATING = ["小区暖气不热，室温只有十二度", "暖气片不热，家里太冷了，室温十二度", "我们小区暖气一直不热，老人受冻",
           "暖气不热，室温不到十五度，请供热公司处理"]
