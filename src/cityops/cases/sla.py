"""The SLA clock of a case: stage deadlines on the working calendar, pauses, and the
green / yellow / red level.

Each stage's deadline and its 80 % warning point are stored on the case when the stage
starts, so listing and scanning are plain indexed comparisons with `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings

from cityops.cases.models import Case, SlaLevel
from cityops.catalog import workcal
from cityops.catalog.models import CaseType, LimitUnit, Stage, Urgency
from cityops.catalog.selectors import stage_limit_row

WARN_FRACTION = Decimal("0.8")
WORKING_UNITS = frozenset({LimitUnit.WORK_HOUR, LimitUnit.WORK_DAY})

# Used when a case has no category yet (e.g. 立案 of an unclassified report) or a category lacks a limit.
DEFAULT_LIMITS: dict[tuple[str, str], tuple[Decimal, str]] = {
    (Stage.REGISTER, Urgency.NORMAL): (Decimal(1), LimitUnit.WORK_HOUR),
    (Stage.REGISTER, Urgency.URGENT): (Decimal("0.5"), LimitUnit.HOUR),
    (Stage.DISPATCH, Urgency.NORMAL): (Decimal(1), LimitUnit.WORK_HOUR),
    (Stage.DISPATCH, Urgency.URGENT): (Decimal("0.5"), LimitUnit.HOUR),
    (Stage.SIGN, Urgency.NORMAL): (Decimal(1), LimitUnit.WORK_DAY),
    (Stage.SIGN, Urgency.URGENT): (Decimal(1), LimitUnit.HOUR),
    (Stage.HANDLE, Urgency.NORMAL): (Decimal(5), LimitUnit.WORK_DAY),
    (Stage.HANDLE, Urgency.URGENT): (Decimal(24), LimitUnit.HOUR),
    (Stage.VERIFY, Urgency.NORMAL): (Decimal(1), LimitUnit.WORK_DAY),
    (Stage.VERIFY, Urgency.URGENT): (Decimal(4), LimitUnit.HOUR),
}

# 12345 practice (REFERENCE.md §6.5): a consultation needs no long handling time.
CASE_TYPE_HANDLE_CAP: dict[str, tuple[Decimal, str]] = {
    CaseType.CONSULT: (Decimal(3), LimitUnit.WORK_DAY),
}


@dataclass(frozen=True)
class Limit:
    value: Decimal
    unit: str

    def label(self) -> str:
        return f"{self.value.normalize():f}{LimitUnit(self.unit).label}"


def stage_limit(*, category_id: int | None, urgency: str, stage: str, case_type: str = "") -> Limit:
    row = None
    if category_id:
        row = stage_limit_row(category_id, stage, urgency)
    value, unit = row if row else DEFAULT_LIMITS[(stage, urgency)]
    if stage == Stage.HANDLE and case_type in CASE_TYPE_HANDLE_CAP and urgency == Urgency.NORMAL:
        cap_value, cap_unit = CASE_TYPE_HANDLE_CAP[case_type]
        if unit == cap_unit and value > cap_value:
            value = cap_value
    return Limit(Decimal(value), unit)


def due(start: datetime, limit: Limit, fraction: Decimal = Decimal(1)) -> datetime:
    return workcal.add_work_duration(start, limit.value * fraction, limit.unit)


def warn_point(start: datetime, deadline: datetime, unit: str) -> datetime:
    """The moment 80 % of the stage's time is used (measured on the clock the unit runs on)."""
    total = remaining_seconds(start, deadline, unit)
    return add_seconds(start, total * float(WARN_FRACTION), unit) if total > 0 else deadline


def remaining_seconds(now: datetime, deadline: datetime, unit: str) -> float:
    """Time left on the clock, in the unit's own currency (working or natural seconds)."""
    if unit in WORKING_UNITS:
        if deadline <= now:
            return -workcal.work_seconds_between(deadline, now)
        return workcal.work_seconds_between(now, deadline)
    return (deadline - now).total_seconds()


def add_seconds(start: datetime, seconds: float, unit: str) -> datetime:
    if unit in WORKING_UNITS:
        if seconds <= 0:
            return start
        return workcal.add_work_duration(start, Decimal(str(seconds)) / 3600, LimitUnit.WORK_HOUR)
    return start + timedelta(seconds=seconds)


def stage_fields(case: Case, stage: str, start: datetime, limit: Limit | None = None) -> dict[str, Any]:
    """Field updates that start `stage` at `start` for this case."""
    limit = limit or stage_limit(
        category_id=case.category_id, urgency=case.urgency, stage=stage, case_type=case.case_type
    )
    deadline = due(start, limit)
    return {
        "stage": stage,
        "stage_started_at": start,
        "stage_unit": limit.unit,
        "deadline": deadline,
        "warn_at": warn_point(start, deadline, limit.unit),
        "sla_level": SlaLevel.GREEN,
        "clock_paused_at": None,
        "clock_remaining": None,
    }


def continue_stage_fields(case: Case, stage: str, deadline: datetime, unit: str, now: datetime) -> dict[str, Any]:
    """Enter `stage` with an already-fixed deadline (处置时限 counts from dispatch, not from signing)."""
    started = case.dispatched_at or now
    warn_at = warn_point(started, deadline, unit)
    return {
        "stage": stage,
        "stage_started_at": started,
        "stage_unit": unit,
        "deadline": deadline,
        "warn_at": warn_at,
        "sla_level": level_at(now, deadline, warn_at),
        "clock_paused_at": None,
        "clock_remaining": None,
    }


def clear_fields() -> dict[str, Any]:
    return {
        "stage": "", "stage_started_at": None, "stage_unit": "", "deadline": None, "warn_at": None,
        "sla_level": SlaLevel.NONE, "clock_paused_at": None, "clock_remaining": None,
    }


def pause_fields(case: Case, now: datetime) -> dict[str, Any]:
    """Stop the clock (挂账). A pending extension request does not stop it (see `extend_fields`)."""
    if case.clock_paused_at or not case.deadline:
        return {}
    fields: dict[str, Any] = {
        "clock_paused_at": now,
        "clock_remaining": remaining_seconds(now, case.deadline, case.stage_unit),
    }
    return fields


def resume_fields(case: Case, now: datetime, extra_seconds: float = 0) -> dict[str, Any]:
    """Restart the clock where it stopped; `extra_seconds` (an approved extension) moves the deadline."""
    if not case.clock_paused_at or case.clock_remaining is None:
        return {}
    unit = case.stage_unit
    remaining = case.clock_remaining + extra_seconds
    # A case that was already overdue when paused stays overdue.
    deadline = add_seconds(now, remaining, unit) if remaining > 0 else case.deadline
    warn_remaining = remaining - (1 - float(WARN_FRACTION)) * _stage_total(case, extra_seconds)
    if warn_remaining > 0:
        warn_at = add_seconds(now, warn_remaining, unit)
    else:
        assert deadline is not None  # a clock paused with time left counts towards a stored deadline
        warn_at = min(now, deadline)
    fields = {
        "deadline": deadline,
        "warn_at": warn_at,
        "clock_paused_at": None,
        "clock_remaining": None,
        "sla_level": level_at(now, deadline, warn_at),
    }
    if case.stage == Stage.HANDLE:
        fields["handle_deadline"] = deadline
    return fields


def extend_fields(case: Case, now: datetime, extra_seconds: float, requested_at: datetime) -> dict[str, Any]:
    """Move the running stage's deadline for an approved extension (延期).

    A pending request does not stop the clock: the case keeps its deadline (and turns yellow or
    red on time) until the dispatcher decides. The approval then grants the extra time as if it
    had been granted when the department asked:

        new deadline = max(deadline, requested_at) + extra

    measured on the stage's own clock (working time for 工作日/工作小时 limits, natural time
    otherwise). A request made before the deadline extends the deadline itself, so the days the
    decision took are not lost; a request made after the deadline had passed extends from the
    request, so the overdue time before asking is not forgiven. The 80 % point and the level are
    recomputed from the stage start, so an approval that comes after the new deadline leaves the
    case red. A denial changes nothing on the clock.
    """
    if case.clock_paused_at:
        # A clock stopped under the former rule (an extension paused it) restarts with the grant.
        return resume_fields(case, now, extra_seconds)
    if not case.deadline:
        return {}
    unit = case.stage_unit
    deadline = add_seconds(max(case.deadline, requested_at), extra_seconds, unit)
    warn_at = warn_point(case.stage_started_at or requested_at, deadline, unit)
    fields: dict[str, Any] = {"deadline": deadline, "warn_at": warn_at, "sla_level": level_at(now, deadline, warn_at)}
    if case.stage == Stage.HANDLE:
        fields["handle_deadline"] = deadline
    return fields


def _stage_total(case: Case, extra_seconds: float) -> float:
    if not case.stage_started_at or not case.deadline or not case.clock_paused_at:
        return 0.0
    used = remaining_seconds(case.stage_started_at, case.clock_paused_at, case.stage_unit)
    return used + (case.clock_remaining or 0) + extra_seconds


def level_at(now: datetime, deadline: datetime | None, warn_at: datetime | None) -> str:
    if deadline is None:
        return SlaLevel.NONE
    if deadline <= now:
        return SlaLevel.RED
    if warn_at is not None and warn_at <= now:
        return SlaLevel.YELLOW
    return SlaLevel.GREEN


def current_level(case: Case, now: datetime) -> str:
    """The level to show now. A paused clock keeps the level it had when it stopped."""
    if case.clock_paused_at:
        return case.sla_level
    return level_at(now, case.deadline, case.warn_at)


def office_seconds_per_day() -> float:
    total = 0.0
    for start, end in settings.CITYOPS_OFFICE_HOURS:
        h1, m1 = (int(x) for x in start.split(":"))
        h2, m2 = (int(x) for x in end.split(":"))
        total += (h2 * 60 + m2 - h1 * 60 - m1) * 60
    return total


def extension_seconds(value: Decimal, unit: str, stage_unit: str) -> float:
    """An extension of `value unit`, in the clock's own currency (working or natural seconds)."""
    days = unit in (LimitUnit.WORK_DAY, LimitUnit.DAY)
    if not days:
        return float(value) * 3600
    per_day = office_seconds_per_day() if stage_unit in WORKING_UNITS else 86400.0
    return float(value) * per_day
