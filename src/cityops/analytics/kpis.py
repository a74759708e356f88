"""The case-level KPI definitions: 满意率 (satisfaction rate) and 回访率 (callback rate).

One home for both, read by the dashboard and big screen (`analytics.selectors`), the weekly and
monthly reports (`analytics.reports`), the assessment ranking (`assessment.metrics`), the
targets page (`assessment.targets`), the stats API and the exports. docs/assessment.md states
the formulas and points here.

Both count cases, each once, from the case's own fields (contract of issue 12):

* 满意率 = cases whose result is 满意 or 基本满意 ÷ cases whose result was fixed in the period.
  A case's one result is fixed by its first completed callback or the citizen's own rating
  (`Case.satisfaction_at` says when); only a leader's correction changes it afterwards, and a
  重办 (reopen) clears it so the re-closed case gets a fresh one. A case the callback seat could
  not reach (无法联系) has no result: it is in neither numerator nor denominator.
* 回访率 = closed cases needing a callback that have a result or are 无法联系 ÷ closed cases
  needing a callback (closed in the period; `callback_status` pending, done or unreachable;
  `not_needed` — no phone, merged duplicate, reporter asked for none — is left out).

The dashboard reads 满意率 from the rollups (`Dim.SATISFACTION`: one case per key on the local
day its result was fixed, see `analytics.rollups`), which give the same counts as
`case_kpi_counts`; 回访率 is read here through the index on (callback_status, closed_at).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q

from cityops.cases.models import Case
from cityops.cases.states import CallbackStatus, Satisfaction, Status

SATISFIED = (Satisfaction.SATISFIED.value, Satisfaction.BASICALLY_SATISFIED.value)
NEEDS_CALLBACK = (CallbackStatus.PENDING.value, CallbackStatus.DONE.value, CallbackStatus.UNREACHABLE.value)
CALLBACK_FINISHED = (CallbackStatus.DONE.value, CallbackStatus.UNREACHABLE.value)

SATISFACTION_RATE_FORMULA = "（满意 + 基本满意）÷ 本期确定满意度结果的案件数 × 100%"
SATISFACTION_RATE_NOTE = "每件案件只计一次：首次回访或市民评价确定结果，领导更正后按更正结果计；无法联系的不计入分子分母"
CALLBACK_RATE_FORMULA = "（已有满意度结果 + 无法联系）÷ 本期结案且需回访的案件数 × 100%"
CALLBACK_RATE_NOTE = "需回访 = 结案时进入回访队列（无电话、合并的重复件、反映人要求不回访的不需回访）"

# Names of the counts, as the assessment, the reports and the API show them.
RATED = "rated"  # cases whose result was fixed in the period
SATISFIED_COUNT = "satisfied"  # … of which 满意 or 基本满意
CALLBACKS_NEEDED = "callbacks_needed"  # closed in the period and needing a callback
CALLBACKS_FINISHED = "callbacks_finished"  # … of which with a result or 无法联系

ZERO = {RATED: 0, SATISFIED_COUNT: 0, CALLBACKS_NEEDED: 0, CALLBACKS_FINISHED: 0}


def result_fixed_between(lo: datetime, hi: datetime) -> Q:
    """Cases whose one satisfaction result was fixed in [lo, hi) and still stands."""
    return Q(satisfaction_at__gte=lo, satisfaction_at__lt=hi) & ~Q(satisfaction="")


def callback_needed_between(lo: datetime, hi: datetime) -> Q:
    """Cases closed in [lo, hi) that need a callback."""
    return Q(status=Status.CLOSED, closed_at__gte=lo, closed_at__lt=hi, callback_status__in=NEEDS_CALLBACK)


def _result_aggregates() -> dict:
    return {RATED: Count("pk"), SATISFIED_COUNT: Count("pk", filter=Q(satisfaction__in=SATISFIED))}


def _callback_aggregates() -> dict:
    return {CALLBACKS_NEEDED: Count("pk"), CALLBACKS_FINISHED: Count("pk", filter=Q(callback_status__in=CALLBACK_FINISHED))}


def case_kpi_counts(lo: datetime, hi: datetime, *, street_id: int | None = None) -> dict[str, int]:
    """The four counts behind 满意率 and 回访率 over [lo, hi), district-wide or for one street."""
    cases = Case.objects.order_by()
    if street_id is not None:
        cases = cases.filter(street_id=street_id or None)
    out = dict(ZERO)
    out.update(cases.filter(result_fixed_between(lo, hi)).aggregate(**_result_aggregates()))
    out.update(cases.filter(callback_needed_between(lo, hi)).aggregate(**_callback_aggregates()))
    return {k: int(v or 0) for k, v in out.items()}


def case_kpi_counts_by(lo: datetime, hi: datetime, group: str) -> dict[int, dict[str, int]]:
    """The same counts per value of a case field (`department` or `street`: the case's current
    department and its street)."""
    out: dict[int, dict[str, int]] = {}
    for qs, aggregates in (
        (Case.objects.filter(result_fixed_between(lo, hi)), _result_aggregates()),
        (Case.objects.filter(callback_needed_between(lo, hi)), _callback_aggregates()),
    ):
        for row in qs.order_by().values(group).annotate(**aggregates):
            subject = row.pop(group)
            if subject is None:
                continue
            counts = out.setdefault(subject, dict(ZERO))
            counts.update({k: int(v or 0) for k, v in row.items()})
    return out


def rate(part: int, whole: int) -> float | None:
    """A rate in % with one decimal, or None when nothing was counted."""
    return round(part * 100.0 / whole, 1) if whole else None


def satisfaction_rate(counts: dict[str, int]) -> float | None:
    return rate(counts.get(SATISFIED_COUNT, 0), counts.get(RATED, 0))


def callback_rate(counts: dict[str, int]) -> float | None:
    return rate(counts.get(CALLBACKS_FINISHED, 0), counts.get(CALLBACKS_NEEDED, 0))
