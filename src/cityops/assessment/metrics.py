"""The counts behind the assessment, taken from the append-only case events.

Each function runs one or two aggregate queries grouped by the evaluated subject (department,
street or person) for one period, never a Python loop over cases. The shape of the main query:

    WITH t AS MATERIALIZED (
        SELECT <one row per dispatch / verify / register event of the period>,
               EXISTS(<another event of the same case>) AS flag, …     -- each flag once per row
    )
    SELECT grp, COUNT(DISTINCT CASE WHEN <flags> THEN case END), … FROM t GROUP BY grp

The per-row facts are correlated EXISTS sub-queries on `cases_caseevent` (indexed by case).

Time rules (see docs/assessment.md):

* everything is cut off at `period.cutoff` — a closed month's figures never change;
* "on time" for 处置 compares the case's last response with its stored handling deadline
  (`Case.handle_deadline`, which already includes approved extensions and rework);
* "on time" for the stages whose deadline is not kept after they end (立案, 派遣, 核查) means
  the SLA scan recorded no `sla_overdue` event for that stage while it was open.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)

from cityops.assessment.periods import Period
from cityops.cases.models import Case, CaseEvent
from cityops.cases.states import Action, Satisfaction
from cityops.catalog.models import Stage

SATISFIED = [Satisfaction.SATISFIED.value, Satisfaction.BASICALLY_SATISFIED.value]
Counts = dict[int, dict[str, int]]

# A count: (SQL condition over the flag columns of the inner rows, what is counted: "case" or "event").
Spec = tuple[str, str]


def _flag(q: Q) -> ExpressionWrapper:
    return ExpressionWrapper(q, output_field=BooleanField())


def _case_events(**filters) -> QuerySet[CaseEvent]:
    """Events of the outer row's case."""
    return CaseEvent.objects.filter(case=OuterRef("case"), **filters)


def _in_period(qs: QuerySet, period: Period, field: str = "created_at") -> QuerySet:
    return qs.filter(**{f"{field}__gte": period.start, f"{field}__lt": period.cutoff})


def _aggregate(rows: QuerySet, specs: dict[str, Spec], *, grouped: bool = True) -> list[dict]:
    """Count over `rows` (annotated with k_case, k_id, k_grp and boolean flags) per k_grp.

    The flags are computed once per row in the inner query and combined outside, instead of
    Django repeating each EXISTS inside every `Count(filter=…)` that uses it."""
    columns = ["k_case", "k_id", *(["k_grp"] if grouped else [])]
    flags = [name for name in rows.query.annotations if name not in ("k_case", "k_id", "k_grp")]
    sql, params = rows.order_by().values(*columns, *flags).query.sql_with_params()
    selects = []
    for name, (condition, counted) in specs.items():
        target = "t.k_case" if counted == "case" else "t.k_id"
        selects.append(f"COUNT(DISTINCT CASE WHEN {condition} THEN {target} END) AS {name}")
    group = "t.k_grp, " if grouped else ""
    tail = " GROUP BY t.k_grp" if grouped else ""
    # MATERIALIZED (PostgreSQL ≥ 12, SQLite ≥ 3.35) keeps the inner rows as they are: inlined,
    # the planner evaluates each flag's sub-plan again inside every COUNT that mentions it
    # (measured on PostgreSQL: 20 s → 0.5 s for 10,000 dispatches).
    query = f"WITH t AS MATERIALIZED ({sql}) SELECT {group}{', '.join(selects)} FROM t{tail}"
    if connection.vendor != "postgresql":
        return _fetch(query, params)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The correlated sub-plans make the planner's cost estimate large enough to trigger
            # JIT compilation, which costs seconds and saves nothing here (measured: 7 s of 8).
            cursor.execute("SET LOCAL jit = off")
        return _fetch(query, params)


def _fetch(query: str, params) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        names = [col[0] for col in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _keyed(rows: Iterable[dict], key: str) -> Counts:
    out: Counts = {}
    for row in rows:
        subject = row.pop(key)
        if subject is None:
            continue
        out[subject] = {k: int(v or 0) for k, v in row.items()}
    return out


def _merge(*parts: Counts) -> Counts:
    out: Counts = {}
    for part in parts:
        for subject, counts in part.items():
            out.setdefault(subject, {}).update(counts)
    return out


def _with_late(qs: QuerySet[CaseEvent], *, stage: str, started_by: Iterable[str]) -> QuerySet[CaseEvent]:
    """Annotate events that end an SLA stage with `late`: the scan marked that stage overdue
    between its start (the latest `started_by` event before) and this event."""
    stage_start = Subquery(
        CaseEvent.objects.filter(case=OuterRef("case"), action__in=list(started_by), created_at__lte=OuterRef("created_at"))
        .exclude(pk=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    overdue = CaseEvent.objects.filter(
        case=OuterRef("case"), action=Action.SLA_OVERDUE, payload__stage=stage,
        created_at__gte=OuterRef("stage_start"), created_at__lte=OuterRef("created_at"),
    )
    return qs.annotate(stage_start=stage_start).annotate(late=Exists(overdue))


def _on_hold_at(cutoff: datetime) -> Exists:
    """The case was suspended (挂账) at the cut-off: a suspend with no resume after it."""
    resumed = CaseEvent.objects.filter(
        case=OuterRef("case"), action=Action.RESUME, created_at__gte=OuterRef("created_at"), created_at__lt=cutoff
    )
    return Exists(_case_events(action=Action.SUSPEND, created_at__lt=cutoff).filter(~Exists(resumed)))


# ---------------------------------------------------------------- departments and streets

_NOT_RETURNED = "NOT t.r"
_HANDLED = "t.h"
_WAITING = "(NOT t.h AND t.expired AND NOT t.held)"

COHORT_SPECS_DEPARTMENT: dict[str, Spec] = {
    "dispatched": ("1 = 1", "case"),
    "returned": ("t.r", "case"),
    "due": (f"{_NOT_RETURNED} AND (t.h OR {_WAITING})", "case"),
    "handled": (f"{_NOT_RETURNED} AND {_HANDLED}", "case"),
    "handled_on_time": (f"{_NOT_RETURNED} AND t.h AND t.ot", "case"),
    "closed": (f"{_NOT_RETURNED} AND t.h AND t.c", "case"),
    "closed_on_time": (f"{_NOT_RETURNED} AND t.h AND t.c AND t.ot", "case"),
    "reworked": (f"{_NOT_RETURNED} AND (t.h OR {_WAITING}) AND t.w", "case"),
    "extended": (f"{_NOT_RETURNED} AND (t.h OR {_WAITING}) AND t.x", "case"),
    "overdue_open": (f"{_NOT_RETURNED} AND {_WAITING}", "case"),
}
# A street (and the whole center) keeps a case that one department returned: it is re-dispatched.
COHORT_SPECS_AREA: dict[str, Spec] = {
    name: (condition.replace(f"{_NOT_RETURNED} AND ", ""), counted) for name, (condition, counted) in COHORT_SPECS_DEPARTMENT.items()
}


def _cohort(period: Period, *, per_department: bool) -> QuerySet[CaseEvent]:
    """Dispatch events of the period, each annotated with what became of the case by the cut-off
    (for a department: what *that department* did with it)."""
    cutoff = period.cutoff
    scope = {"department": OuterRef("department")} if per_department else {}
    # Events of the same case (and department) from the period start to the cut-off. A bound
    # that does not depend on the outer row lets PostgreSQL run each EXISTS once, hashed,
    # instead of once per dispatch (measured: 1.5 s → 0.3 s for 10,000 dispatches).
    since = {"created_at__gte": period.start, "created_at__lt": cutoff, **scope}
    return _in_period(CaseEvent.objects.filter(action=Action.DISPATCH), period).annotate(
        k_case=F("case_id"),
        k_id=F("id"),
        r=Exists(_case_events(action=Action.RETURN, **since)),
        h=Exists(_case_events(action=Action.RESPOND, **since)),
        c=Exists(_case_events(action=Action.VERIFY, payload__passed=True, **since)),
        w=Exists(_case_events(action=Action.VERIFY, payload__passed=False, **since)),
        x=Exists(_case_events(action=Action.REQUEST_EXTENSION, **since)),
        held=_on_hold_at(cutoff),
        expired=_flag(Q(case__handle_deadline__lt=cutoff)),
        ot=_flag(Q(case__responded_at__lt=cutoff, case__responded_at__lte=F("case__handle_deadline"))),
    )


def _callbacks(period: Period, group: str | None) -> QuerySet | dict:
    qs = _in_period(CaseEvent.objects.filter(action=Action.CALLBACK), period)
    aggregates = {"callbacks": Count("id"), "satisfied": Count("id", filter=Q(payload__satisfaction__in=SATISFIED))}
    return qs.values(group).annotate(**aggregates) if group else qs.aggregate(**aggregates)


def callback_totals(period: Period) -> dict[str, int]:
    """Callbacks of the period for the whole center: how many, how many satisfied."""
    if period.future:
        return {"callbacks": 0, "satisfied": 0}
    return {k: int(v or 0) for k, v in _callbacks(period, None).items()}


def department_counts(period: Period) -> Counts:
    """Per department id: the cohort counts and the callbacks of its cases."""
    if period.future:
        return {}
    cohort = _aggregate(_cohort(period, per_department=True).annotate(k_grp=F("department")), COHORT_SPECS_DEPARTMENT)
    return _merge(_keyed(cohort, "k_grp"), _keyed(_callbacks(period, "case__department"), "case__department"))


def street_counts(period: Period) -> Counts:
    """Per street (Region id): cases registered, the cohort counts and the callbacks."""
    if period.future:
        return {}
    cohort = _aggregate(_cohort(period, per_department=False).annotate(k_grp=F("case__street")), COHORT_SPECS_AREA)
    registered = (
        _in_period(CaseEvent.objects.filter(action=Action.REGISTER), period)
        .values("case__street").annotate(registered=Count("case", distinct=True))
    )
    return _merge(
        _keyed(registered, "case__street"),
        _keyed(cohort, "k_grp"),
        _keyed(_callbacks(period, "case__street"), "case__street"),
    )


def center_counts(period: Period) -> dict[str, int]:
    """The same cohort counts for the whole center (each case once), plus callbacks."""
    if period.future:
        return {}
    rows = _aggregate(_cohort(period, per_department=False), COHORT_SPECS_AREA, grouped=False)
    totals = dict(rows[0]) if rows else {}
    totals.update(_callbacks(period, None))
    return {k: int(v or 0) for k, v in totals.items()}


# ---------------------------------------------------------------- people


def _events_by(period: Period, user_ids: list[int], action: str) -> QuerySet[CaseEvent]:
    return _in_period(CaseEvent.objects.filter(action=action, actor_id__in=user_ids), period).annotate(
        k_case=F("case_id"), k_id=F("id"), k_grp=F("actor_id")
    )


def _verifications(period: Period, user_ids: list[int]) -> Counts:
    rows = _with_late(_events_by(period, user_ids, Action.VERIFY), stage=Stage.VERIFY, started_by=[Action.RESPOND])
    specs = {"verifications": ("1 = 1", "event"), "verifications_on_time": ("NOT t.late", "event")}
    return _keyed(_aggregate(rows, specs), "k_grp")


def inspector_counts(period: Period, user_ids: list[int]) -> Counts:
    """Per inspector: reports made and registered, verifications and their timeliness."""
    if period.future or not user_ids:
        return {}
    registered = CaseEvent.objects.filter(case=OuterRef("pk"), action=Action.REGISTER, created_at__lt=period.cutoff)
    reports = (
        _in_period(Case.objects.filter(created_by_id__in=user_ids), period)
        .annotate(was_registered=Exists(registered))
        .values("created_by")
        .annotate(reports=Count("id"), valid_reports=Count("id", filter=Q(was_registered=True)))
    )
    return _merge(_keyed(reports, "created_by"), _verifications(period, user_ids))


def operator_counts(period: Period, user_ids: list[int]) -> Counts:
    """Per operator: intake decisions, registrations (on time, later voided as duplicates), callbacks."""
    if period.future or not user_ids:
        return {}
    decisions = (
        _in_period(CaseEvent.objects.filter(actor_id__in=user_ids), period)
        .filter(action__in=[Action.REGISTER, Action.REJECT, Action.ANSWER, Action.MERGE, Action.CALLBACK])
        .values("actor")
        .annotate(
            accepted=Count("id", filter=~Q(action=Action.CALLBACK)),
            callbacks_by=Count("id", filter=Q(action=Action.CALLBACK)),
        )
    )
    voided = _case_events(
        action=Action.MERGE, from_status="registered", created_at__gte=OuterRef("created_at"), created_at__lt=period.cutoff
    )
    rows = _with_late(_events_by(period, user_ids, Action.REGISTER), stage=Stage.REGISTER, started_by=[Action.CREATE])
    specs = {
        "registered_by": ("1 = 1", "event"),
        "registered_on_time": ("NOT t.late", "event"),
        "registered_valid": ("NOT t.voided", "event"),
    }
    registrations = _aggregate(rows.annotate(voided=Exists(voided)), specs)
    return _merge(_keyed(decisions, "actor"), _keyed(registrations, "k_grp"))


def _dispatch_quality(qs: QuerySet[CaseEvent], period: Period) -> QuerySet[CaseEvent]:
    """Annotate dispatch events with `late` and `mis`: the receiving department returned the
    case in the period as 非本单位职责 (payload mis_dispatch = true). The bound is the period,
    not this dispatch, so PostgreSQL hashes the sub-plan (measured 0.9 s → 0.1 s for 10,000
    dispatches); a second dispatch to a department that had already refused the case counts as
    a mis-dispatch too."""
    mis = _case_events(
        action=Action.RETURN, department=OuterRef("department"), payload__mis_dispatch=True,
        created_at__gte=period.start, created_at__lt=period.cutoff,
    )
    return _with_late(qs, stage=Stage.DISPATCH, started_by=[Action.REGISTER, Action.RETURN]).annotate(mis=Exists(mis))


DISPATCH_SPECS: dict[str, Spec] = {
    "dispatches": ("1 = 1", "event"),
    "dispatches_on_time": ("NOT t.late", "event"),
    "dispatches_accurate": ("NOT t.mis", "event"),
}


def dispatcher_counts(period: Period, user_ids: list[int]) -> Counts:
    """Per dispatcher: dispatches (on time, accurate) and verifications."""
    if period.future or not user_ids:
        return {}
    rows = _dispatch_quality(_events_by(period, user_ids, Action.DISPATCH), period)
    return _merge(_keyed(_aggregate(rows, DISPATCH_SPECS), "k_grp"), _verifications(period, user_ids))


def dispatch_accuracy_counts(period: Period) -> dict[str, int]:
    """All dispatches of the period (people and the router alike) and how many were accurate."""
    if period.future:
        return {"dispatches": 0, "dispatches_accurate": 0}
    rows = _in_period(CaseEvent.objects.filter(action=Action.DISPATCH), period).annotate(k_case=F("case_id"), k_id=F("id"))
    specs = {"dispatches": DISPATCH_SPECS["dispatches"], "dispatches_accurate": DISPATCH_SPECS["dispatches_accurate"]}
    result = _aggregate(_dispatch_quality(rows, period), specs, grouped=False)
    return {k: int(v or 0) for k, v in (result[0] if result else {}).items()} or {"dispatches": 0, "dispatches_accurate": 0}
