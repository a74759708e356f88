"""Keeping the rollups current: live increments from case events, a full rebuild, and a repair.

* Live: `on_case_events` receives `cases.signals.case_events_committed` (after commit, for
  every create and transition, one at a time or in batches: see `cases.fanout`) and applies the change
  as `n = n + delta` upserts on the day and month rows it touches, plus an upsert or delete of the case's `OpenCase` row. It never
  raises: a failure is logged and the next repair puts it right.
* Rebuild (`rollup_rebuild`, `cityops rollup_rebuild`): recompute everything (or everything
  from a day on) from the cases and their events with GROUP BY queries run inside the database
  (INSERT … SELECT), so 10 million cases take minutes, not hours.
* Repair (`rollup_repair`, `cityops rollup_repair`, run periodically): a rebuild of the last
  few days and of the open-case snapshot. Writes that send no signal (the SLA scan, citizen
  ratings, bulk imports) are caught here.

Counting rules live in `created_facts` / `event_facts` / `satisfaction_deltas` (live) and
`_created_queries` / `_event_queries` / `_result_query` (rebuild), side by side, and the tests
check that both agree.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    CharField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, ExtractHour, TruncDate, TruncMonth
from django.dispatch import receiver
from django.utils import timezone

from cityops.analytics.models import ALL_STREETS, DISTRICT_DIMS, DailyCount, Dim, MonthlyCount, OpenCase
from cityops.analytics.periods import day_bounds, month_start
from cityops.cases.models import Case, CaseEvent
from cityops.cases.signals import case_events_committed
from cityops.cases.states import OPEN_STATUSES, Action, ReturnReason, Status
from cityops.common.db import asynchronous_commit

logger = logging.getLogger("cityops.analytics")

REPAIR_DAYS = 3

# Keys of Dim.EVENT
EV_REGISTER = "register"
EV_DISPATCH = "dispatch"
EV_CLOSE = "close"
EV_REJECT = "reject"
EV_RETURN = "return"
EV_MISDISPATCH = "misdispatch"
EV_REWORK = "rework"
EV_REOPEN = "reopen"


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


# ---------------------------------------------------------------- what counts (live)


def created_facts(case: Case, *, status: str | None = None) -> list[tuple[str, str]]:
    """The (dimension, key) pairs a case counts under on its creation day (with `status`: as it
    was when created, for a case that may have moved on)."""
    return [
        (Dim.TOTAL, ""),
        (Dim.STATUS, status or case.status),
        (Dim.CHANNEL, case.channel),
        (Dim.TYPE, case.case_type),
        (Dim.CATEGORY, str(case.category_id or "")),
        (Dim.COMMUNITY, str(case.community_id or "")),
        (Dim.GRID, str(case.grid_id or "")),
        (Dim.HOUR, str(timezone.localtime(case.created_at).hour)),
    ]


def event_facts(event: CaseEvent) -> list[tuple[str, str]]:
    """The (dimension, key) pairs an event counts under on the day it happened."""
    facts: list[tuple[str, str]] = []
    payload = event.payload or {}
    if event.action == Action.REGISTER:
        facts.append((Dim.EVENT, EV_REGISTER))
    if event.action == Action.DISPATCH:
        facts.append((Dim.EVENT, EV_DISPATCH))
    if event.to_status == Status.CLOSED and event.from_status != Status.CLOSED:
        facts.append((Dim.EVENT, EV_CLOSE))
    if event.to_status == Status.REJECTED and event.from_status != Status.REJECTED:
        facts.append((Dim.EVENT, EV_REJECT))
    if event.action == Action.RETURN:
        facts.append((Dim.EVENT, EV_RETURN))
    if redispatches_a_mis_dispatch(event):
        facts.append((Dim.EVENT, EV_MISDISPATCH))
    if event.action == Action.VERIFY and payload.get("passed") is False:
        facts.append((Dim.EVENT, EV_REWORK))
    if event.action == Action.REOPEN or (event.action == Action.CALLBACK and payload.get("reopen") is True):
        facts.append((Dim.EVENT, EV_REOPEN))
    return facts


def _effective_returns() -> Q:
    """Returns that sent the case back to the center: at once (not pending) or accepted later."""
    immediate = Q(action=Action.RETURN) & (Q(payload__pending=False) | ~Q(payload__has_key="pending"))
    return immediate | Q(action=Action.ACCEPT_RETURN)


def _not_our_duty() -> Q:
    return Q(payload__mis_dispatch=True) | Q(payload__reason=ReturnReason.NOT_OUR_DUTY.value)


def redispatches_a_mis_dispatch(event: CaseEvent) -> bool:
    """A dispatch that corrects a mis-dispatch (the assessment's rule, `assessment.metrics`): the
    case came back as 非本单位职责 and now goes to another department. Counted on this day."""
    if event.action != Action.DISPATCH or event.from_status != Status.RETURNED:
        return False
    latest = (
        CaseEvent.objects.filter(_effective_returns(), case_id=event.case_id)
        .filter(Q(created_at__lt=event.created_at) | Q(created_at=event.created_at, pk__lt=event.pk))
        .order_by("-created_at", "-id").first()
    )
    if latest is None or latest.department_id == event.department_id:
        return False
    return CaseEvent.objects.filter(_not_our_duty(), pk=latest.pk).exists()


def fixes_result(event: CaseEvent) -> bool:
    """The event fixed the case's one satisfaction result (first callback or citizen rating)."""
    payload = event.payload or {}
    return event.action in (Action.CALLBACK, Action.RATE) and payload.get("result") is True and bool(payload.get("satisfaction"))


def _result_day(event: CaseEvent) -> date | None:
    """The local day on which the result that `event` changes was fixed: the latest fixing event
    before it (the case itself may have moved on, so its `satisfaction_at` is not used)."""
    fixing = (
        CaseEvent.objects.filter(case_id=event.case_id, action__in=[Action.CALLBACK, Action.RATE], payload__result=True)
        .filter(Q(created_at__lt=event.created_at) | Q(created_at=event.created_at, pk__lt=event.pk))
        .order_by("-created_at", "-id").values_list("created_at", flat=True).first()
    )
    return local_day(fixing) if fixing else None


def satisfaction_deltas(event: CaseEvent) -> list[tuple[date, str, int]]:
    """(day, result, ±1) for `Dim.SATISFACTION`, which counts each case once under its current
    result on the local day the result was fixed (`analytics.kpis`): a fixing event adds the
    case, a leader's correction moves it from the old result to the new one, a 重办 takes it out."""
    payload = event.payload or {}
    if fixes_result(event):
        return [(local_day(event.created_at), str(payload["satisfaction"]), 1)]
    if event.action == Action.CORRECT_SATISFACTION:
        old, new = payload.get("previous") or "", payload.get("satisfaction") or ""
        day = _result_day(event) if old != new else None
        return [(day, old, -1), (day, new, 1)] if day and old and new else []
    if event.action == Action.REOPEN and payload.get("previous_satisfaction"):
        day = _result_day(event)
        return [(day, str(payload["previous_satisfaction"]), -1)] if day else []
    return []


# ---------------------------------------------------------------- upserts


def _upsert(table: str, period_column: str, rows: Iterable[tuple[date, int, str, str, int]], *, add: bool) -> None:
    """INSERT … ON CONFLICT DO UPDATE on (dim, period, street_id, key); `add` adds, else replaces.

    Both SQLite (≥ 3.24) and PostgreSQL speak this dialect. Rows are sorted so that two
    writers lock rows in the same order and cannot deadlock.
    """
    rows = sorted(rows)
    if not rows:
        return
    qn = connection.ops.quote_name
    t = qn(table)
    cols = ", ".join(qn(c) for c in (period_column, "street_id", "dim", "key", "n"))
    conflict = ", ".join(qn(c) for c in ("dim", period_column, "street_id", "key"))
    update = f"{t}.{qn('n')} + excluded.{qn('n')}" if add else f"excluded.{qn('n')}"
    tail = f"ON CONFLICT ({conflict}) DO UPDATE SET {qn('n')} = {update}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Five arrays instead of 5 × N placeholders: one statement text whatever the batch
            # size, so the driver does not re-parse a new, long query for every batch.
            columns = [list(column) for column in zip(*rows, strict=True)]
            cursor.execute(
                f"INSERT INTO {t} ({cols}) SELECT * FROM unnest(%s::date[], %s::integer[], %s::text[], %s::text[], "
                f"%s::integer[]) {tail}",
                columns,
            )
            return
        for i in range(0, len(rows), 500):
            chunk = rows[i : i + 500]
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
            params = [v for row in chunk for v in row]
            cursor.execute(f"INSERT INTO {t} ({cols}) VALUES {values} {tail}", params)


def bump(deltas: Iterable[tuple[date, int, str, str, int]]) -> None:
    """Add `delta` to the day and month rows of each (day, street_id, dim, key, delta)."""
    daily: Counter = Counter()
    monthly: Counter = Counter()
    for day, street_id, dim, key, delta in deltas:
        dim = str(dim)
        streets = (street_id, ALL_STREETS) if dim in DISTRICT_DIMS else (street_id,)
        for sid in streets:
            daily[(day, sid, dim, key)] += delta
            monthly[(month_start(day), sid, dim, key)] += delta
    _upsert(DailyCount._meta.db_table, "day", [(*k, v) for k, v in daily.items() if v], add=True)
    _upsert(MonthlyCount._meta.db_table, "month", [(*k, v) for k, v in monthly.items() if v], add=True)


def open_case_fields(case: Case) -> dict:
    return {
        "number": case.number,
        "status": case.status,
        "street_id": case.street_id or 0,
        "community_id": case.community_id or 0,
        "grid_id": case.grid_id or 0,
        "category_id": case.category_id or 0,
        "case_type": case.case_type,
        "created_at": case.created_at,
        "deadline": case.deadline,
        "warn_at": case.warn_at,
        "paused": case.clock_paused_at is not None,
        "sla_level": case.sla_level if case.clock_paused_at is not None else "",
        "lon": case.lon,
        "lat": case.lat,
    }


def open_case_sync(case: Case) -> None:
    """Make the case's snapshot row match the case: present while open, gone once closed."""
    open_cases_apply([case])


def open_cases_apply(cases: list[Case]) -> None:
    """`open_case_sync` for many cases: one INSERT … ON CONFLICT DO UPDATE and one DELETE."""
    latest = {case.pk: case for case in cases}
    rows = [OpenCase(case_id=pk, **open_case_fields(case)) for pk, case in latest.items() if case.status in OPEN_STATUSES]
    closed = [pk for pk, case in latest.items() if case.status not in OPEN_STATUSES]
    if rows:
        fields = list(open_case_fields(next(iter(latest.values()))))
        OpenCase.objects.bulk_create(rows, update_conflicts=True, unique_fields=["case"], update_fields=fields)
    if closed:
        OpenCase.objects.filter(case_id__in=closed).delete()


def apply_event(case: Case, event: CaseEvent) -> None:
    """Apply one committed case event to the rollups and the open-case snapshot."""
    apply_events([(case, event)])


def apply_events(items: list[tuple[Case, CaseEvent]]) -> None:
    """Apply committed case events (oldest first) to the rollups and the open-case snapshot:
    one upsert per rollup table and one write of the snapshot for the whole batch.

    The case may have moved on since an event (a deferred batch sees it as it is now), so a
    creation counts the status the event recorded, and a reclassification is measured against
    the snapshot as the earlier events of the batch left it."""
    deltas: list[tuple[date, int, str, str, int]] = []
    later = [case.pk for case, event in items if event.action != Action.CREATE]
    snapshot: dict[int, tuple[int, str]] = {
        row["case_id"]: (row["category_id"], row["case_type"])
        for row in OpenCase.objects.filter(case_id__in=later).values("case_id", "category_id", "case_type")
    } if later else {}
    for case, event in items:
        street_id = case.street_id or 0
        created_day = local_day(case.created_at)
        if event.action == Action.CREATE:
            deltas += [(created_day, street_id, dim, key, 1) for dim, key in created_facts(case, status=event.to_status)]
        else:
            if event.from_status and event.to_status and event.from_status != event.to_status:
                deltas.append((created_day, street_id, Dim.STATUS, event.from_status, -1))
                deltas.append((created_day, street_id, Dim.STATUS, event.to_status, 1))
            # 立案 may (re)classify: move the case between category and type keys.
            before = snapshot.get(case.pk)
            if before:
                category_before, type_before = before
                if category_before != (case.category_id or 0):
                    deltas.append((created_day, street_id, Dim.CATEGORY, str(category_before or ""), -1))
                    deltas.append((created_day, street_id, Dim.CATEGORY, str(case.category_id or ""), 1))
                if type_before and type_before != case.case_type:
                    deltas.append((created_day, street_id, Dim.TYPE, type_before, -1))
                    deltas.append((created_day, street_id, Dim.TYPE, case.case_type, 1))
        if case.status in OPEN_STATUSES:
            snapshot[case.pk] = (case.category_id or 0, case.case_type)
        else:
            snapshot.pop(case.pk, None)
        event_day = local_day(event.created_at)
        deltas += [(event_day, street_id, dim, key, 1) for dim, key in event_facts(event)]
        deltas += [(day, street_id, Dim.SATISFACTION, key, delta) for day, key, delta in satisfaction_deltas(event)]
    # Derived data: `rollup_repair` rebuilds what a crash could lose, so no disk flush is awaited.
    with asynchronous_commit():
        bump(deltas)
        open_cases_apply([case for case, _ in items])


@receiver(case_events_committed, dispatch_uid="analytics.rollups.on_case_events")
def on_case_events(sender, items: list[tuple[Case, CaseEvent]], **kwargs) -> None:
    try:
        apply_events(items)
    except Exception:  # the cases are committed; never fail their request. The repair fixes the counts.
        logger.exception("rollup update failed for %d event(s), first %s", len(items), getattr(items[0][1], "pk", None))


# ---------------------------------------------------------------- what counts (rebuild)


def _str(expr) -> Cast:
    return Cast(expr, CharField())


def _created_queries(qs: QuerySet[Case]) -> list[tuple[str, QuerySet]]:
    """One GROUP BY (local day, street, key) query per created-case dimension."""
    keys = {
        Dim.TOTAL: Value("", output_field=CharField()),
        Dim.STATUS: F("status"),
        Dim.CHANNEL: F("channel"),
        Dim.TYPE: F("case_type"),
        Dim.CATEGORY: Coalesce(_str("category_id"), Value("")),
        Dim.COMMUNITY: Coalesce(_str("community_id"), Value("")),
        Dim.GRID: Coalesce(_str("grid_id"), Value("")),
        Dim.HOUR: _str(ExtractHour("created_at")),
    }
    out = []
    for dim, key in keys.items():
        agg = (
            qs.order_by()
            .annotate(rd=TruncDate("created_at"), rs=Coalesce("street_id", 0), rk=key)
            .values("rd", "rs", "rk")
            .annotate(rn=Count("pk"))
        )
        out.append((dim, agg))
    return out


def _event_queries(qs: QuerySet[CaseEvent]) -> list[tuple[str, QuerySet]]:
    """One GROUP BY (local day, street, key) query per event key; mirrors `event_facts`."""
    closed, rejected = Status.CLOSED, Status.REJECTED
    filters = [
        (EV_REGISTER, Q(action=Action.REGISTER)),
        (EV_DISPATCH, Q(action=Action.DISPATCH)),
        (EV_CLOSE, Q(to_status=closed) & ~Q(from_status=closed)),
        (EV_REJECT, Q(to_status=rejected) & ~Q(from_status=rejected)),
        (EV_RETURN, Q(action=Action.RETURN)),
        (EV_REWORK, Q(action=Action.VERIFY, payload__passed=False)),
        (EV_REOPEN, Q(action=Action.REOPEN) | Q(action=Action.CALLBACK, payload__reopen=True)),
    ]
    out = []
    for key, condition in filters:
        agg = (
            qs.filter(condition).order_by()
            .annotate(rd=TruncDate("created_at"), rs=Coalesce("case__street_id", 0), rk=Value(key, output_field=CharField()))
            .values("rd", "rs", "rk")
            .annotate(rn=Count("pk"))
        )
        out.append((Dim.EVENT, agg))
    latest_return = (
        CaseEvent.objects.filter(_effective_returns(), case=OuterRef("case"), created_at__lte=OuterRef("created_at"))
        .exclude(pk=OuterRef("pk")).order_by("-created_at", "-id").values("pk")[:1]
    )
    corrected = CaseEvent.objects.filter(_not_our_duty(), pk=OuterRef("latest_return")).exclude(department=OuterRef("department"))
    mis = (
        qs.filter(action=Action.DISPATCH, from_status=Status.RETURNED)
        .annotate(latest_return=Subquery(latest_return)).filter(Exists(corrected)).order_by()
        .annotate(rd=TruncDate("created_at"), rs=Coalesce("case__street_id", 0), rk=Value(EV_MISDISPATCH, output_field=CharField()))
        .values("rd", "rs", "rk")
        .annotate(rn=Count("pk"))
    )
    out.append((Dim.EVENT, mis))
    return out


def _result_query(qs: QuerySet[Case]) -> QuerySet:
    """`Dim.SATISFACTION` from the cases themselves: each case with a result once, under that
    result, on the local day it was fixed (what `satisfaction_deltas` maintains live)."""
    return (
        qs.exclude(satisfaction="").filter(satisfaction_at__isnull=False).order_by()
        .annotate(rd=TruncDate("satisfaction_at"), rs=Coalesce("street_id", 0), rk=F("satisfaction"))
        .values("rd", "rs", "rk")
        .annotate(rn=Count("pk"))
    )


def _replace_from_select(model, period_column: str, select: str, agg: QuerySet, leading_params: list) -> int:
    """INSERT INTO model's table the rows `select` picks from the aggregate `agg` (aliased `sub`),
    replacing the counts of rows that exist; rows whose count is 0 are skipped."""
    sql, params = agg.query.sql_with_params()
    qn = connection.ops.quote_name
    t = qn(model._meta.db_table)
    cols = ", ".join(qn(c) for c in (period_column, "street_id", "dim", "key", "n"))
    conflict = ", ".join(qn(c) for c in ("dim", period_column, "street_id", "key"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {t} ({cols}) SELECT {select} FROM ({sql}) sub WHERE sub.rn <> 0 "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {qn('n')} = excluded.{qn('n')}",
            [*leading_params, *params],
        )
        return cursor.rowcount


def _insert_select(dim: str, agg: QuerySet) -> int:
    return _replace_from_select(DailyCount, "day", "sub.rd, sub.rs, %s, sub.rk, sub.rn", agg, [str(dim)])


def _district_rows(since: date | None) -> int:
    """The district-wide rows (street_id = ALL_STREETS) of DISTRICT_DIMS, summed from the street rows."""
    qs = DailyCount.objects.filter(dim__in=sorted(DISTRICT_DIMS), street_id__gte=0)
    if since:
        qs = qs.filter(day__gte=since)
    agg = qs.order_by().values("day", "dim", "key").annotate(rn=Sum("n"))
    qn = connection.ops.quote_name
    select = f"sub.{qn('day')}, %s, sub.{qn('dim')}, sub.{qn('key')}, sub.rn"
    return _replace_from_select(DailyCount, "day", select, agg, [ALL_STREETS])


def _months_from_days(since: date | None) -> int:
    first = month_start(since) if since else None
    qs = DailyCount.objects.all()
    if first:
        qs = qs.filter(day__gte=first)
        MonthlyCount.objects.filter(month__gte=first).delete()
    else:
        MonthlyCount.objects.all().delete()
    agg = (
        qs.order_by()
        .annotate(rm=TruncMonth("day", output_field=DailyCount._meta.get_field("day")))
        .values("rm", "street_id", "dim", "key")
        .annotate(rn=Sum("n"))
    )
    qn = connection.ops.quote_name
    select = f"sub.rm, sub.{qn('street_id')}, sub.{qn('dim')}, sub.{qn('key')}, sub.rn"
    return _replace_from_select(MonthlyCount, "month", select, agg, [])


def open_cases_rebuild() -> int:
    """Replace the open-case snapshot with the open cases of the case table."""
    qs = (
        Case.objects.filter(status__in=OPEN_STATUSES).order_by()
        .annotate(
            o_street=Coalesce("street_id", 0), o_comm=Coalesce("community_id", 0), o_grid=Coalesce("grid_id", 0),
            o_cat=Coalesce("category_id", 0),
            o_paused=ExpressionWrapper(Q(clock_paused_at__isnull=False), output_field=BooleanField()),
        )
        .values_list("pk", "number", "status", "o_street", "o_comm", "o_grid", "o_cat", "case_type", "created_at",
                     "deadline", "warn_at", "o_paused", "sla_level", "lon", "lat")
    )
    sql, params = qs.query.sql_with_params()
    qn = connection.ops.quote_name
    cols = ["case_id", "number", "status", "street_id", "community_id", "grid_id", "category_id", "case_type",
            "created_at", "deadline", "warn_at", "paused", "sla_level", "lon", "lat"]
    OpenCase.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(OpenCase._meta.db_table)} ({', '.join(qn(c) for c in cols)}) SELECT * FROM ({sql}) sub "
            f"WHERE true ON CONFLICT DO NOTHING",
            params,
        )
        # The level is only meaningful while the clock is paused (otherwise it is computed from the deadline).
        cursor.execute(
            f"UPDATE {qn(OpenCase._meta.db_table)} SET {qn('sla_level')} = '' WHERE NOT {qn('paused')} AND {qn('sla_level')} <> ''"
        )
    return OpenCase.objects.count()


SYNC_FIELDS = ("number", "status", "street_id", "community_id", "grid_id", "category_id", "case_type", "created_at",
               "deadline", "warn_at", "paused", "sla_level", "lon", "lat")


def open_cases_sync(*, batch: int = 2000) -> int:
    """Bring the open-case snapshot in line with the case table, writing only the rows that differ
    (the periodic repair: in steady state it reads both tables and writes nothing)."""
    fields = list(SYNC_FIELDS)
    current: dict[int, tuple] = {}
    for row in (
        Case.objects.filter(status__in=OPEN_STATUSES).order_by()
        .values_list("pk", "number", "status", "street_id", "community_id", "grid_id", "category_id", "case_type",
                     "created_at", "deadline", "warn_at", "clock_paused_at", "sla_level", "lon", "lat")
        .iterator(chunk_size=batch)
    ):
        pk, number, status, street, comm, grid, cat, ctype, created, deadline, warn, paused_at, level, lon, lat = row
        paused = paused_at is not None
        current[pk] = (number, status, street or 0, comm or 0, grid or 0, cat or 0, ctype, created, deadline, warn,
                       paused, level if paused else "", lon, lat)
    snapshot = {row[0]: tuple(row[1:]) for row in OpenCase.objects.order_by().values_list("case_id", *fields).iterator(chunk_size=batch)}
    gone = [pk for pk in snapshot if pk not in current]
    changed = [pk for pk, row in current.items() if snapshot.get(pk) != row]
    for i in range(0, len(gone), batch):
        OpenCase.objects.filter(case_id__in=gone[i : i + batch]).delete()
    for i in range(0, len(changed), batch):
        OpenCase.objects.bulk_create(
            [OpenCase(case_id=pk, **dict(zip(fields, current[pk], strict=True))) for pk in changed[i : i + batch]],
            update_conflicts=True, unique_fields=["case"], update_fields=fields,
        )
    return len(current)


@dataclass
class RebuildResult:
    since: date | None
    daily_rows: int
    monthly_rows: int
    open_cases: int
    seconds: float


def rollup_rebuild(*, since: date | None = None) -> RebuildResult:
    """Recompute the rollups from the cases and events (all of them, or from local day `since` on).

    Runs in one transaction, so readers see the old counts until the new ones are complete.
    """
    started = time.monotonic()
    cases = Case.objects.all()
    events = CaseEvent.objects.all()
    results = Case.objects.all()
    with transaction.atomic():
        if since:
            lo, _ = day_bounds(since, since)
            cases = cases.filter(created_at__gte=lo)
            events = events.filter(created_at__gte=lo)
            results = results.filter(satisfaction_at__gte=lo)
            DailyCount.objects.filter(day__gte=since).delete()
        else:
            DailyCount.objects.all().delete()
        for dim, agg in [*_created_queries(cases), *_event_queries(events), (Dim.SATISFACTION, _result_query(results))]:
            _insert_select(dim, agg)
        _district_rows(since)
        _months_from_days(since)
        open_count = open_cases_sync() if since else open_cases_rebuild()
    if connection.vendor == "postgresql" and since is None:
        with connection.cursor() as cursor:
            for model in (DailyCount, MonthlyCount, OpenCase):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    daily = DailyCount.objects.filter(day__gte=since).count() if since else DailyCount.objects.count()
    monthly = MonthlyCount.objects.filter(month__gte=month_start(since)).count() if since else MonthlyCount.objects.count()
    return RebuildResult(since, daily, monthly, open_count, round(time.monotonic() - started, 2))


def rollup_repair(*, days: int = REPAIR_DAYS, today: date | None = None) -> RebuildResult:
    """Rebuild the last `days` local days and the open-case snapshot (cheap; run it every few minutes).

    Builds everything first when the rollups are empty but cases exist (a new installation).
    """
    if rollups_missing():
        return rollup_rebuild()
    today = today or timezone.localdate()
    return rollup_rebuild(since=today - timedelta(days=max(1, days) - 1))


def rollups_missing() -> bool:
    """No rollups yet while cases exist (a new installation), or rollups without the district rows (an upgrade)."""
    if not DailyCount.objects.exists():
        return Case.objects.exists()
    return not DailyCount.objects.filter(street_id=ALL_STREETS).exists()
