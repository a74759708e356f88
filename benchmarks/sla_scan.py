"""Benchmark the SLA scan (cityops.cases.sla_scan) over 1,000,000 open cases on PostgreSQL.

Builds (once) a database with N open cases whose clocks are running — by default every one
of them due to change (60 % past the deadline → red, 40 % past the 80 % point → yellow), the
worst case: the first scan after a long outage of the workers. Then times:

1. catch-up: one scan that turns all of them yellow/red, writing an event and notifying the
   department and the dispatchers for each (set-based UPDATE … RETURNING, in batches);
2. again: the same scan once more (idempotent: changes nothing);
3. a minute later: the scan a minute on (after the VACUUM ANALYZE that autovacuum would do),
   when only the cases crossing in that minute change: the steady state of 1,000,000 open cases.

    .venv/bin/python benchmarks/sla_scan.py [--cases 1000000] [--database-url URL] [--rebuild] [--json]

Needs PostgreSQL (default postgres://postgres@127.0.0.1:5432/cityops_sla, created from the
cityops_bench_tpl template or migrated and loaded with `cityops demo`). With --json the last
line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from cityops.ops import benchtools  # noqa: E402

BUILD_SQL = """
INSERT INTO cases_case (
    number, tracking_code, channel, external_id, case_type, urgency, title, description, lon, lat, coord_source,
    address, reporter_name, reporter_phone, status, stage, stage_started_at, stage_unit, deadline, warn_at,
    clock_paused_at, clock_remaining, sla_level, handle_deadline, handle_unit, extension_pending, extension_request,
    supervised, urge_count, rework_count, return_count, result, answer, satisfaction, created_at, registered_at,
    dispatched_at, responded_at, closed_at, updated_at, version, category_id, community_id, created_by_id,
    department_id, grid_id, master_id, street_id)
SELECT 'SB' || lpad(g::text, 9, '0'), 'B' || lpad(to_hex(g), 11, '0'), 'hotline', '', 'complaint', 'normal',
       '基准测试', '时限扫描基准测试案件', NULL, NULL, 'wgs84', '', '', '',
       CASE WHEN g %% 10 < 7 THEN 'in_progress' ELSE 'dispatched' END,
       CASE WHEN g %% 10 < 7 THEN 'handle' ELSE 'sign' END,
       %(now)s - interval '5 days', 'work_day', d.deadline, d.deadline - interval '1 day', NULL, NULL, 'green',
       d.deadline, 'work_day', false, NULL, false, 0, 0, 0, '', '', '',
       %(now)s - interval '6 days', %(now)s - interval '6 days', %(now)s - interval '5 days', NULL, NULL,
       %(now)s - interval '5 days', 3, NULL, NULL, NULL, (%(depts)s::bigint[])[1 + g %% cardinality(%(depts)s::bigint[])],
       NULL, NULL, NULL
FROM generate_series(1::bigint, %(cases)s::bigint) AS g,
LATERAL (SELECT CASE
    WHEN (g * 7919) %% 1000 < %(red)s THEN %(now)s - (((g * 104729) %% 259200) || ' seconds')::interval - interval '1 second'
    WHEN (g * 7919) %% 1000 < %(red)s + %(yellow)s THEN %(now)s + (((g * 104729) %% 86000) || ' seconds')::interval + interval '1 second'
    ELSE %(now)s + interval '3 days' + (((g * 104729) %% 259200) || ' seconds')::interval END AS deadline) AS d
"""


def build(cases: int, red_permille: int, yellow_permille: int, now) -> float:
    from django.db import connection

    from cityops.catalog.models import Department, DepartmentKind
    from cityops.ops.seed import _secondary_indexes

    t0 = time.perf_counter()
    depts = list(Department.objects.exclude(kind=DepartmentKind.CENTER).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE cases_case, cases_casenumbercounter RESTART IDENTITY CASCADE")
        saved = _secondary_indexes("cases_case")
        for name, _sql in saved:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        cursor.execute("SET synchronous_commit = off")
        cursor.execute(BUILD_SQL, {"now": now, "cases": cases, "red": red_permille, "yellow": yellow_permille, "depts": depts})
        cursor.execute("SET maintenance_work_mem = '1GB'")
        for _name, sql in saved:
            cursor.execute(sql)
        cursor.execute("VACUUM ANALYZE cases_case")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--red", type=float, default=0.6, help="share of the cases past their deadline")
    parser.add_argument("--yellow", type=float, default=0.4, help="share past their 80 %% point")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/cityops_sla")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the open cases even if present")
    parser.add_argument("--proposed-indexes", action="store_true",
                        help="create the partial indexes proposed for Case.Meta (see docs/benchmarks/scale.md) first")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    benchtools.ensure_database(args.database_url)
    benchtools.setup_django(args.database_url)
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from cityops.cases.models import Case, CaseEvent, Notification
    from cityops.cases.sla_scan import sla_scan

    if args.proposed_indexes:
        with connection.cursor() as cursor:
            cursor.execute("CREATE INDEX IF NOT EXISTS case_sla_red_due ON cases_case (deadline) "
                           "WHERE NOT (sla_level = 'red') AND clock_paused_at IS NULL")
            cursor.execute("CREATE INDEX IF NOT EXISTS case_sla_yellow_due ON cases_case (warn_at) "
                           "WHERE sla_level = 'green' AND clock_paused_at IS NULL")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'cases_case' AND indexname IN ('case_sla_red_due', 'case_sla_yellow_due')")
        partial_indexes = cursor.fetchone()[0] == 2
    now = timezone.now().replace(microsecond=0)
    build_s = build(args.cases, int(args.red * 1000), int(args.yellow * 1000), now)
    open_cases = Case.objects.count()
    print(f"built {open_cases:,} open cases in {build_s:.1f} s")

    def timed(at):
        t0 = time.perf_counter()
        result = sla_scan(now=at)
        return time.perf_counter() - t0, result

    first_s, first = timed(now)
    print(f"catch-up scan: {first.turned_red:,} red + {first.turned_yellow:,} yellow, {first.notifications:,} notifications in {first_s:.1f} s")
    again_s, again = timed(now)
    print(f"same scan again: {again.turned_red + again.turned_yellow} changes in {again_s:.2f} s")
    # What autovacuum does soon after a million updates: clear the dead index entries and refresh
    # the statistics (the partial indexes of a steady state rely on it).
    v0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE cases_case")
    vacuum_s = time.perf_counter() - v0
    print(f"vacuum analyze (autovacuum's job) {vacuum_s:.1f} s")
    minute_s, minute = timed(now + timedelta(seconds=60))
    print(f"a minute later: {minute.turned_red + minute.turned_yellow} changes in {minute_s:.2f} s")
    events = CaseEvent.objects.filter(action__in=["sla_warning", "sla_overdue"]).count()
    duplicates = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM (SELECT case_id, action FROM cases_caseevent WHERE action IN ('sla_warning','sla_overdue') "
                       "GROUP BY case_id, action HAVING count(*) > 1) d")
        duplicates = cursor.fetchone()[0]
    figures = {
        "benchmark": "sla_scan", "date": datetime.now(UTC).date().isoformat(), "machine": benchtools.machine(),
        "open_cases": open_cases, "build_s": round(build_s, 1), "proposed_partial_indexes": partial_indexes,
        "scan_s": round(first_s, 2), "turned_red": first.turned_red, "turned_yellow": first.turned_yellow,
        "notifications": first.notifications, "cases_per_s": round((first.turned_red + first.turned_yellow) / first_s),
        "rescan_s": round(again_s, 3), "rescan_changes": again.turned_red + again.turned_yellow,
        "vacuum_s": round(vacuum_s, 1), "minute_later_s": round(minute_s, 3), "minute_later_changes": minute.turned_red + minute.turned_yellow,
        "events": events, "duplicate_events": duplicates, "notification_rows": Notification.objects.count(),
        "target_s": 30,
    }
    print(f"events {events:,} (duplicates {duplicates}), load {figures['machine']['load']}")
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
