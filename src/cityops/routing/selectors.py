"""Reads for pages: the dispatch-accuracy KPI (派遣准确率) computed from case events.

A dispatch is an event `dispatch`. It counts as a mis-dispatch when the department returned
the case with reason "not our duty" (a `return` event whose payload has mis_dispatch=True)
before the case was dispatched again. Accuracy = 1 − mis-dispatched / dispatched, over the
dispatches whose *dispatch time* falls in [start, end). Returns that happen after `end` still
count against the dispatch they undo, so a period's figure can only go down as late returns
arrive (the figure of a closed period is final once its cases are signed or returned).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from django.utils import timezone

from cityops.cases.models import CaseEvent
from cityops.cases.states import Action
from cityops.routing.duplicates import candidates

GroupBy = Literal["day", "department", "route"] | None
ROUTE_ALIASES = {"router": "auto", "auto": "auto"}


@dataclass(frozen=True)
class AccuracyRow:
    key: str | date | None  # the day, department code or route; None for the overall row
    dispatched: int
    mis_dispatched: int

    @property
    def accurate(self) -> int:
        return self.dispatched - self.mis_dispatched

    @property
    def accuracy(self) -> float | None:
        return self.accurate / self.dispatched if self.dispatched else None


def _aware(value: date | datetime, *, end: bool = False) -> datetime:
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    start = timezone.make_aware(datetime.combine(value, datetime.min.time()))
    return start + timedelta(days=1) if end else start


def _route(payload: dict) -> str:
    return ROUTE_ALIASES.get(str((payload or {}).get("route") or "manual"), "manual")


def dispatch_accuracy(
    start: date | datetime, end: date | datetime, group_by: GroupBy = None, *, department: str | None = None,
) -> list[AccuracyRow]:
    """Dispatch accuracy in [start, end) — a date `end` is inclusive (the whole day).

    `group_by`: None (one overall row), "day" (local date of the dispatch), "department"
    (code of the department dispatched to) or "route" ("auto" by 智能分拨 / "manual").
    Rows are sorted by key."""
    if group_by not in (None, "day", "department", "route"):
        raise ValueError(f"group_by must be day, department, route or None, not {group_by!r}")
    begin, finish = _aware(start), _aware(end, end=not isinstance(end, datetime))
    dispatches = CaseEvent.objects.filter(action=Action.DISPATCH, created_at__gte=begin, created_at__lt=finish)
    if department:
        dispatches = dispatches.filter(department__code=department)
    rows = list(dispatches.values_list("id", "case_id", "created_at", "department__code", "payload").order_by("case_id", "created_at", "id"))
    if not rows:
        return [] if group_by else [AccuracyRow(None, 0, 0)]
    case_ids = {r[1] for r in rows}
    # Every dispatch and mis-dispatch return of those cases from the first dispatch on: a return
    # belongs to the latest dispatch before it (which may lie before `start`).
    timeline: dict[int, list[tuple[datetime, int, str, int]]] = defaultdict(list)
    first = min(r[2] for r in rows)
    for event_id, case_id, created_at, action in (
        CaseEvent.objects.filter(case_id__in=case_ids, created_at__gte=first, action__in=[Action.DISPATCH, Action.RETURN])
        .values_list("id", "case_id", "created_at", "action")
    ):
        timeline[case_id].append((created_at, event_id, action, 0))
    mis_returns = set(
        CaseEvent.objects.filter(case_id__in=case_ids, created_at__gte=first, action=Action.RETURN, payload__mis_dispatch=True)
        .values_list("id", flat=True)
    )
    undone: set[int] = set()
    for events in timeline.values():
        events.sort()
        last_dispatch = None
        for _, event_id, action, _ in events:
            if action == Action.DISPATCH:
                last_dispatch = event_id
            elif event_id in mis_returns and last_dispatch is not None:
                undone.add(last_dispatch)
                last_dispatch = None

    def key_of(row) -> str | date | None:
        if group_by == "day":
            return timezone.localtime(row[2]).date()
        if group_by == "department":
            return row[3] or (row[4] or {}).get("department") or ""
        if group_by == "route":
            return _route(row[4])
        return None

    totals: dict[object, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        bucket = totals[key_of(row)]
        bucket[0] += 1
        bucket[1] += row[0] in undone
    return [AccuracyRow(key, n, bad) for key, (n, bad) in sorted(totals.items(), key=lambda kv: str(kv[0]))]


def duplicate_candidates(
    *, lon: float | None, lat: float | None, description: str, exclude_pk: int | None = None,
    radius_m: float = 300, days: int = 7, limit: int = 5, now: datetime | None = None, user=None,
) -> list[dict[str, Any]]:
    """Open cases nearby in space and time with similar text, best first (within `user`'s scope
    if given), for the operator desk's 疑似重复 hint and the merge form: the spatial duplicate
    index (`routing.duplicates.candidates`) asked with the desk's arguments."""
    return candidates(
        lon=lon, lat=lat, text=description, exclude_pk=exclude_pk, radius_m=radius_m, days=days, limit=limit,
        now=now, user=user,
    )
