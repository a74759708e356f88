"""The periodic SLA scan: open cases crossing their 80 % point turn yellow, past their
deadline turn red; each crossing writes one `sla_warning` / `sla_overdue` event and notifies
the department and the dispatchers once.

Idempotent and safe on several workers (Sentry's check_timeout idea): every level change is
a conditional UPDATE that re-checks the crossing condition on the row it locks, so a scan
that runs twice, or on two workers at once, changes each case once. The level change, its
event and its notifications commit in one transaction per batch: a worker killed mid-scan
leaves whole batches behind, and the next run (or the retried task) finishes the rest.

On PostgreSQL the scan is set-based: the candidate ids come from one indexed query, then each
batch is a single statement, `UPDATE … RETURNING` feeding `INSERT` of the events and
`INSERT … ON CONFLICT DO NOTHING` of the notifications (1,000,000 open cases in well under
30 s, see docs/benchmarks/scale.md). Elsewhere (the embedded SQLite default, a district's
hundred cases a day) it walks the candidates row by row with the same guarantees.
"""

from __future__ import annotations

import json
import threading
import time
from array import array
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cityops.accounts import roles
from cityops.accounts.models import User
from cityops.accounts.selectors import ROLE_LOOKUP
from cityops.cases import notifications
from cityops.cases.models import Case, CaseEvent, Notification, NotificationKind, SlaLevel
from cityops.cases.states import OPEN_STATUSES, Action
from cityops.catalog.models import Stage
from cityops.common.db import let_others_write

BATCH = 200  # row-by-row path (SQLite): one batch holds the database's only write lock, keep it short
PG_BATCH = 20000  # set-based path
ACTOR_LABEL = "系统"


@dataclass
class ScanResult:
    turned_yellow: int = 0
    turned_red: int = 0
    notifications: int = 0


LEVELS = ((SlaLevel.RED, Action.SLA_OVERDUE), (SlaLevel.YELLOW, Action.SLA_WARNING))


def _crossings(now: datetime, level: str):
    """Cases that crossed into `level` and are not marked yet (`_CONDITIONS` below says the
    same in SQL for the set-based scan)."""
    if level == SlaLevel.RED:
        return Case.objects.overdue(now).exclude(sla_level=SlaLevel.RED)
    return Case.objects.near_due(now).filter(sla_level=SlaLevel.GREEN)


def sla_scan(
    *, now: datetime | None = None, batch: int | None = None, on_batch: Callable[[ScanResult], None] | None = None
) -> ScanResult:
    """Mark every crossing as of `now`; `on_batch` is called after each committed batch."""
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        return _scan_postgresql(now, batch or PG_BATCH, on_batch)
    return _scan_rows(now, batch or BATCH, on_batch)


def _count(result: ScanResult, level: str, n: int) -> None:
    if level == SlaLevel.RED:
        result.turned_red += n
    else:
        result.turned_yellow += n


# ---------------------------------------------------------------- row by row (SQLite)


def _scan_rows(now: datetime, batch: int, on_batch) -> ScanResult:
    result = ScanResult()
    for level, action in LEVELS:
        last_pk = 0
        while True:
            pks = list(_crossings(now, level).filter(pk__gt=last_pk).order_by("pk").values_list("pk", flat=True)[:batch])
            if not pks:
                break
            last_pk = pks[-1]
            began = time.perf_counter()
            with transaction.atomic():
                for pk in pks:
                    if not _crossings(now, level).filter(pk=pk).update(sla_level=level):
                        continue  # another scan got there first, or the case moved on
                    case = Case.objects.select_related("department").get(pk=pk)
                    CaseEvent.objects.create(
                        case=case, created_at=now, actor_label=ACTOR_LABEL, action=action,
                        from_status=case.status, to_status=case.status, department=case.department,
                        payload={"stage": case.stage, "deadline": case.deadline.isoformat() if case.deadline else None},
                    )
                    _count(result, level, 1)
                    result.notifications += notifications.sla_alert(case, level)
            if on_batch:
                on_batch(result)
            if len(pks) < batch:
                break
            let_others_write(time.perf_counter() - began)  # the requests waiting meanwhile go first
    return result


# ---------------------------------------------------------------- set-based (PostgreSQL)

_CONDITIONS: dict[str, str] = {
    SlaLevel.RED: "{t}status = ANY(%(open)s) AND {t}clock_paused_at IS NULL AND {t}deadline <= %(now)s AND {t}sla_level <> 'red'",
    SlaLevel.YELLOW: (
        "{t}status = ANY(%(open)s) AND {t}clock_paused_at IS NULL AND {t}warn_at <= %(now)s "
        "AND {t}deadline > %(now)s AND {t}sla_level = 'green'"
    ),
}

# The deadline as Python's datetime.isoformat() prints it, so dedupe keys match `notifications.sla_alert`.
_ISO = (
    "to_char(ch.deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') "
    "|| CASE WHEN date_part('microseconds', ch.deadline)::bigint %% 1000000 = 0 THEN '' "
    "ELSE to_char(ch.deadline AT TIME ZONE 'UTC', '.US') END || '+00:00'"
)

_STATEMENT = """
WITH changed AS (
    UPDATE {case} AS c SET sla_level = %(level)s
    WHERE c.id = ANY(%(ids)s::bigint[]) AND {condition}
    RETURNING c.id, c.number, c.status, c.department_id, c.stage, c.deadline
), events AS (
    INSERT INTO {event} (case_id, created_at, actor_id, actor_label, action, from_status, to_status, department_id, note, payload)
    SELECT ch.id, %(now)s, NULL, %(actor)s, %(action)s, ch.status, ch.status, ch.department_id, '',
           jsonb_build_object('stage', ch.stage, 'deadline', CASE WHEN ch.deadline IS NULL THEN NULL ELSE {iso} END)
    FROM changed ch
), recipients AS (
    SELECT ch.id AS case_id, r.user_id
    FROM changed ch JOIN unnest(%(dept_ids)s::bigint[], %(dept_users)s::bigint[]) AS r(department_id, user_id)
         ON r.department_id = ch.department_id
    UNION
    SELECT ch.id, d.user_id FROM changed ch CROSS JOIN unnest(%(dispatchers)s::bigint[]) AS d(user_id)
), notes AS (
    INSERT INTO {notification} (recipient_id, case_id, kind, message, dedupe_key, created_at, read_at)
    SELECT r.user_id, ch.id, %(kind)s,
           '案件 ' || ch.number || COALESCE(%(labels)s::jsonb ->> ch.stage, ch.stage) || '环节' || %(word)s || '。',
           'sla:' || ch.id || ':' || ch.stage || ':' || CASE WHEN ch.deadline IS NULL THEN '' ELSE {iso} END || ':' || %(level)s,
           %(wall)s, NULL
    FROM recipients r JOIN changed ch ON ch.id = r.case_id
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM changed), (SELECT count(*) FROM notes)
"""


def _recipients() -> tuple[list[int], list[int], list[int]]:
    """(department ids, their members' user ids) as parallel lists, and the dispatchers' ids:
    the people `notifications.sla_alert` tells."""
    members = (
        User.objects.filter(is_active=True, department_id__isnull=False, **{ROLE_LOOKUP: roles.DEPARTMENT})
        .values_list("department_id", "pk").distinct()
    )
    dept_ids, dept_users = [], []
    for department_id, user_id in members:
        dept_ids.append(department_id)
        dept_users.append(user_id)
    dispatchers = list(User.objects.filter(is_active=True, **{ROLE_LOOKUP: roles.DISPATCHER}).values_list("pk", flat=True).distinct())
    return dept_ids, dept_users, dispatchers


def candidate_ids(now: datetime, level: str) -> array:
    """Ids of the cases crossing into `level` at `now`, ascending, from one indexed query."""
    ids = array("q")
    # No ORDER BY: it would tempt the planner into walking the primary key; sorted here instead
    # (batches then touch neighbouring pages and lock rows in the same order on every worker).
    sql = f"SELECT id FROM {Case._meta.db_table} WHERE {_CONDITIONS[level].format(t='')}"
    with connection.cursor() as cursor:
        cursor.execute(sql, {"open": sorted(OPEN_STATUSES), "now": now})
        while rows := cursor.fetchmany(50000):
            ids.extend(row[0] for row in rows)
    return array("q", sorted(ids))


def _scan_postgresql(now: datetime, batch: int, on_batch) -> ScanResult:
    result = ScanResult()
    lock = threading.Lock()
    dept_ids, dept_users, dispatchers = _recipients()
    labels = json.dumps({value: str(label) for value, label in Stage.choices}, ensure_ascii=False)
    # Batches touch disjoint cases, so they can run on several connections at once (a big
    # catch-up after an outage uses every core); inside a transaction (tests) they cannot.
    workers = max(1, int(settings.CITYOPS_SLA_SCAN_CONNECTIONS))
    for level, action in LEVELS:
        statement = _STATEMENT.format(
            case=Case._meta.db_table, event=CaseEvent._meta.db_table, notification=Notification._meta.db_table,
            condition=_CONDITIONS[level].format(t="c."), iso=_ISO,
        )
        red = level == SlaLevel.RED
        params = {
            "open": sorted(OPEN_STATUSES), "now": now, "level": str(level), "action": str(action), "actor": ACTOR_LABEL,
            "dept_ids": dept_ids, "dept_users": dept_users, "dispatchers": dispatchers, "labels": labels,
            "kind": str(NotificationKind.SLA_OVERDUE if red else NotificationKind.SLA_WARNING),
            "word": "已超期" if red else "即将超期",
        }
        ids = candidate_ids(now, level)
        chunks = [ids[start : start + batch].tolist() for start in range(0, len(ids), batch)]

        def run(chunk: list[int], level=level, statement=statement, params=params) -> None:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, {**params, "ids": chunk, "wall": timezone.now()})
                changed, notified = cursor.fetchone()
            with lock:
                _count(result, level, changed)
                result.notifications += notified
                if on_batch:
                    on_batch(result)

        if workers > 1 and len(chunks) > 1 and not connection.in_atomic_block:
            def run_in_thread(chunk: list[int]) -> None:
                try:
                    run(chunk)
                finally:
                    connection.close()  # this thread's own connection

            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sla-scan") as pool:
                for future in [pool.submit(run_in_thread, chunk) for chunk in chunks]:
                    future.result()
        else:
            for chunk in chunks:
                run(chunk)
    return result
