"""Reading the count rollups: many questions, one SQL statement.

A page asks several things of the rollups at once (this period by dimension, the period it is
compared with, the streets, the trend line …). Each question is a `Spec`; `read(specs)` turns
every spec into UNION ALL branches that each scan one tight index range — the day rows at the
edges of the range and the month rows of the whole months between — and answers all of them
in one round trip, summed by (spec, dimension, key[, street | period]).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.utils import timezone

from cityops.analytics.models import ALL_STREETS, DISTRICT_DIMS, DailyCount, MonthlyCount
from cityops.analytics.periods import month_start, shift_month
from cityops.analytics.refs import refs


@dataclass(frozen=True)
class Spec:
    tag: str
    start: date
    end: date
    dims: tuple[str, ...]
    street_id: int | None = None  # None: the whole district
    group: str = ""  # "" → key; "street" → (street_id, key); "day" → (day, key), daily rows only; "month" → (month, key)


def pieces(start: date, end: date, today: date | None = None) -> tuple[list[tuple[date, date]], tuple[date, date] | None]:
    """Split [start, end] into day ranges at the edges and one range of whole months between.

    A range that reaches `today` can read the current month's row whole: nothing is counted on
    days still to come, so the month so far is the month (this is what makes "this month" cheap)."""
    first_full = start if start.day == 1 else shift_month(month_start(start), 1)
    after_end = month_start(end + timedelta(days=1))  # months before this one end on or before `end`
    if today is not None and end >= today:
        after_end = shift_month(month_start(end), 1)
    if first_full >= after_end:
        return [(start, end)], None
    days = []
    if start < first_full:
        days.append((start, first_full - timedelta(days=1)))
    if after_end <= end:
        days.append((after_end, end))
    return days, (first_full, min(shift_month(after_end, -1), month_start(end)))


def _street_clauses(spec: Spec) -> list[tuple[list[str], str, list]]:
    """(dims, SQL condition on street_id, params): one street, every street, or the district rows."""
    dims = [str(d) for d in spec.dims]
    if spec.group == "street" and spec.street_id is None:
        return [(dims, "street_id >= 0", [])]
    if spec.street_id is not None:
        return [(dims, "street_id = %s", [spec.street_id])]
    district = [d for d in dims if d in DISTRICT_DIMS]
    others = [d for d in dims if d not in DISTRICT_DIMS]
    out = []
    if district:
        out.append((district, "street_id = %s", [ALL_STREETS]))
    if others:  # communities and grids belong to one street each: sum the street rows
        ids = [0, *sorted(refs().streets)]
        out.append((others, f"street_id IN ({', '.join(['%s'] * len(ids))})", ids))
    return out


def read(specs: list[Spec]) -> dict[str, dict[str, Counter]]:
    """{tag: {dim: Counter(key | (street_id, key) | (period, key) → n)}} for every spec."""
    out: dict[str, dict[str, Counter]] = {s.tag: {str(d): Counter() for d in s.dims} for s in specs}
    qn = connection.ops.quote_name
    daily, monthly = qn(DailyCount._meta.db_table), qn(MonthlyCount._meta.db_table)
    branches: list[str] = []
    params: list = []
    today = timezone.localdate()
    for spec in specs:
        if spec.start > spec.end:
            continue
        if spec.group == "day":
            day_ranges, months = [(spec.start, spec.end)], None
        else:
            day_ranges, months = pieces(spec.start, spec.end, today)
        for dims, street_sql, street_params in _street_clauses(spec):
            dim_sql = f"dim IN ({', '.join(['%s'] * len(dims))})"
            street_col = "street_id" if spec.group == "street" else "0"
            for lo, hi in day_ranges:
                per = "day" if spec.group in ("day", "month") else "CAST(NULL AS date)"
                branches.append(
                    f"SELECT %s AS tag, dim, {qn('key')} AS k, {street_col} AS sid, {per} AS per, n FROM {daily} "
                    f"WHERE {street_sql} AND {dim_sql} AND day BETWEEN %s AND %s"
                )
                params += [spec.tag, *street_params, *dims, lo, hi]
            if months:
                per = "month" if spec.group == "month" else "CAST(NULL AS date)"
                branches.append(
                    f"SELECT %s AS tag, dim, {qn('key')} AS k, {street_col} AS sid, {per} AS per, n FROM {monthly} "
                    f"WHERE {street_sql} AND {dim_sql} AND month BETWEEN %s AND %s"
                )
                params += [spec.tag, *street_params, *dims, months[0], months[1]]
    if not branches:
        return out
    sql = (
        "SELECT tag, dim, k, sid, per, SUM(n) FROM (" + " UNION ALL ".join(branches) + ") AS x "
        "GROUP BY tag, dim, k, sid, per"
    )
    by_tag = {s.tag: s for s in specs}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for tag, dim, key, sid, per, total in rows:
        spec = by_tag[tag]
        if spec.group == "street":
            k = (sid, key)
        elif spec.group in ("day", "month"):
            day = per if isinstance(per, date) else date.fromisoformat(str(per)[:10])
            k = (month_start(day) if spec.group == "month" else day, key)
        else:
            k = key
        out[tag][dim][k] += int(total or 0)
    return out
