"""Bulk import of cases from Excel (.xlsx) or CSV files (批量导入).

`cases_import(...)` works in two passes:

1. **Read and check every row** before anything is written (`import_checks`): headers,
   merged cells, formulas, error values, dates, codes, locations (point → grid), external
   ids duplicated in the file or already in the database. Every problem becomes a
   `RowError` (row, column, value, why).
2. **Write** — only when there is nothing to reject, or with `skip_invalid=True` for the
   valid rows — in chunks of `BATCH_SIZE` rows, each chunk its own short transaction of
   plain INSERTs: the cases and their `create` events, with the day's case numbers reserved
   in bulk (`case_numbers_reserve`) and the 立案 SLA clock from `cases.sla.stage_fields`, as
   `cases.services.case_create` does for one case. Short transactions let the rest of the
   site keep writing during a big import (on SQLite one writer at a time holds the file: a
   single 100,000-row transaction made every other write wait until it timed out).
   All or nothing still holds: every row was checked before the first chunk, and if a
   chunk fails (the database refuses it), the chunks already committed are deleted again
   (`_undo`), so the import leaves no case behind. Meanwhile the cases of committed chunks
   are visible, as `新` cases, like any that arrive while the import runs.

The business rules are those of `case_create` and the hotline intake form (required
description, leaf categories only, location required except for 咨询/建议/表扬, the phone
format, points outside the district refused); only the way rows reach the database differs.
`case_events_committed` is not sent per case (a 100,000-row file would mean 100,000 routing
and analytics receiver calls): `refresh_derived` brings the duplicate-search index and the
analytics rollups up to date in bulk instead, and `cases_imported` is sent once after the
last chunk committed (webhooks send `case.created` for each imported case from it).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from cityops.audit.models import AuditAction
from cityops.audit.services import audit_record
from cityops.cases import sla
from cityops.cases.models import Case, CaseEvent, CaseNumberCounter, CoordSystem, new_tracking_code
from cityops.cases.services import NUMBER_PREFIX
from cityops.cases.signals import cases_imported
from cityops.cases.states import Action, Status
from cityops.catalog.models import Stage, TimeLimit
from cityops.common.db import let_others_write, patient_writer
from cityops.intake.import_checks import (
    R_ADDRESS,
    R_CATEGORY,
    R_CHANNEL,
    R_COMMUNITY,
    R_COORD,
    R_CREATED,
    R_DESCRIPTION,
    R_EXTERNAL,
    R_GRID,
    R_LAT,
    R_LON,
    R_NAME,
    R_PHONE,
    R_ROW,
    R_STREET,
    R_TITLE,
    R_TYPE,
    R_URGENCY,
    ErrorList,
    FileRejected,
    ProgressFn,
    RowChecker,
    RowError,
    check_existing_external_ids,
    check_merged,
    detect_format,
    explain_misplaced_header,
    file_digest,
    map_header,
    max_rows,
    open_source,
    read_csv,
    read_xlsx,
)

logger = logging.getLogger(__name__)


BATCH_SIZE = 1000
CONTENDED_SECONDS = 0.005  # a chunk's BEGIN that waited longer found other writers at work
IMPORT_LABEL = "批量导入"


# ---------------------------------------------------------------- results


@dataclass
class ImportResult:
    import_id: str
    filename: str
    file_format: str = ""
    size: int = 0
    sha256: str = ""
    encoding: str = ""
    sheet: str = ""
    rows_total: int = 0
    rows_valid: int = 0
    created: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_total: int = 0
    invalid_rows: int = 0
    status: str = "pending"  # ok | partial | rejected | valid (dry run) | failed
    message: str = ""
    dry_run: bool = False
    skip_invalid: bool = False
    first_number: str = ""
    last_number: str = ""
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    # For `refresh_derived` (not part of the serialised result).
    case_ids: list[int] = field(default_factory=list, repr=False)

    @property
    def written(self) -> bool:
        return self.created > 0

    def as_dict(self, *, max_errors: int | None = None) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k not in ("case_ids", "errors")}
        errors = self.errors if max_errors is None else self.errors[:max_errors]
        data["errors"] = [e.as_dict() for e in errors]
        return data

    def refresh(self) -> None:
        """Run `refresh_derived` for the cases this import wrote (see `cases_import(refresh=False)`)."""
        if self.case_ids:
            self.timings.update(refresh_derived(self.case_ids))

    def summary(self) -> dict[str, Any]:
        """The audit-trail view of the result (no row data)."""
        return {
            "import_id": self.import_id, "filename": self.filename, "format": self.file_format, "size": self.size,
            "sha256": self.sha256, "status": self.status, "rows_total": self.rows_total, "created": self.created,
            "skipped": self.skipped, "errors_total": self.errors_total, "skip_invalid": self.skip_invalid,
            "dry_run": self.dry_run, "first_number": self.first_number, "last_number": self.last_number,
            "seconds": round(self.seconds, 2),
        }


# ---------------------------------------------------------------- writing


def case_numbers_reserve(day: date, count: int) -> list[str]:
    """Reserve `count` consecutive case numbers of `day` (CD<yyyymmdd>-<nnnn>) with one UPDATE.

    Runs in its own short transaction (or savepoint, inside a caller's transaction): the
    day's counter row is locked only for the UPDATE, not for the whole import, so hotline
    operators creating cases meanwhile do not wait. Numbers of an import that then fails
    stay unused (a gap in the day's sequence), like a rolled-back database sequence.
    """
    if count <= 0:
        return []
    with transaction.atomic():
        if not CaseNumberCounter.objects.filter(day=day).update(last=F("last") + count):
            try:
                with transaction.atomic():
                    CaseNumberCounter.objects.create(day=day, last=count)
            except IntegrityError:
                CaseNumberCounter.objects.filter(day=day).update(last=F("last") + count)
        last = CaseNumberCounter.objects.filter(day=day).values_list("last", flat=True).get()
    return [f"{NUMBER_PREFIX}{day:%Y%m%d}-{n:04d}" for n in range(last - count + 1, last + 1)]


def _tracking_codes(count: int) -> list[str]:
    """`count` fresh tracking codes, unique among themselves and against the database."""
    codes: set[str] = set()
    while len(codes) < count:
        batch = {new_tracking_code() for _ in range(count - len(codes))} - codes
        candidates = list(batch)
        for start in range(0, len(candidates), 900):
            chunk = candidates[start : start + 900]
            batch.difference_update(Case.objects.filter(tracking_code__in=chunk).order_by().values_list("tracking_code", flat=True))
        codes |= batch
    return list(codes)


class _Inserter:
    """Rows straight into a table: COPY on PostgreSQL, INSERT with executemany elsewhere.

    The ORM's bulk_create is limited to 999 parameters per statement on SQLite (16 cases a
    statement), and on PostgreSQL executemany cost ~2 ms a row where COPY streams them.
    """

    def __init__(self, model, variable: list[str]) -> None:
        ops = connection.ops
        self.model = model
        fields = [f for f in model._meta.concrete_fields if not f.primary_key or f.attname in variable]
        by_name = {f.attname: f for f in fields}
        self.variable = variable
        template = model()
        self.constant = [f for f in fields if f.attname not in variable]
        self.constant_values = [f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in self.constant]
        columns = [by_name[name].column for name in variable] + [f.column for f in self.constant]
        placeholders = ", ".join(["%s"] * len(columns))
        target = f"{ops.quote_name(model._meta.db_table)} ({', '.join(ops.quote_name(c) for c in columns)})"
        self.sql = f"INSERT INTO {target} VALUES ({placeholders})"
        self.copy_sql = f"COPY {target} FROM STDIN"

    def insert(self, rows: list[list]) -> None:
        constant = self.constant_values
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(self.copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row + constant)
            else:
                cursor.executemany(self.sql, [row + constant for row in rows])


def _next_ids(model, count: int) -> list[int]:
    """PostgreSQL: `count` ids from the table's own sequence, to COPY the rows with their ids."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return [row[0] for row in cursor.fetchall()]


def _case_ids(numbers: list[str]) -> list[int]:
    """The ids of the cases just INSERTed with these numbers, in the same order.

    SQLite: the import holds the database's only write lock, so the rows of one INSERT batch
    got consecutive AUTOINCREMENT ids ending at last_insert_rowid(); the first and last
    numbers are checked against them. Otherwise they are looked up by number.
    """
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT last_insert_rowid()")
            last = cursor.fetchone()[0]
        first = last - len(numbers) + 1
        ends = dict(Case.objects.filter(pk__in=(first, last)).values_list("pk", "number"))
        if ends.get(first) == numbers[0] and ends.get(last) == numbers[-1]:
            return list(range(first, last + 1))
    found = dict(Case.objects.filter(number__in=numbers).order_by().values_list("number", "id"))
    return [found[number] for number in numbers]


_CASE_COLUMNS = [
    "number", "tracking_code", "channel", "external_id", "case_type", "category_id", "urgency", "title",
    "description", "lon", "lat", "coord_source", "address", "grid_id", "community_id", "street_id",
    "reporter_name", "reporter_phone", "status", "created_by_id", "created_at", "updated_at",
    "stage", "stage_started_at", "stage_unit", "deadline", "warn_at", "sla_level",
]
_EVENT_COLUMNS = ["case_id", "created_at", "actor_id", "actor_label", "action", "from_status", "to_status", "payload"]


def _datetime_adapter() -> Callable[[datetime], Any]:
    """The backend's datetime adaptation, with a cheaper equivalent for SQLite (which stores
    aware datetimes as naive text in the connection's zone, see its `adapt_datetimefield_value`)."""
    if connection.vendor == "sqlite" and settings.USE_TZ:
        zone = connection.timezone
        return lambda value: str(value.astimezone(zone).replace(tzinfo=None))
    return connection.ops.adapt_datetimefield_value


class _SqliteBigCache:
    """A 256 MB page cache while the import writes: the case table has a dozen indexes, and
    SQLite's default 2 MB cache made every insert re-read index pages."""

    def __enter__(self):
        self.previous = None
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size")
                self.previous = cursor.fetchone()[0]
                cursor.execute("PRAGMA cache_size = -262144")
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(self.previous)}")


def register_limits(keys: set[tuple[int | None, str, str]]) -> dict[tuple, sla.Limit]:
    """`sla.stage_limit(category_id, urgency, stage=立案, case_type)` for every key at once.

    One query reads the categories' 立案 limits; a stage_limit of that stage is exactly the
    row's value and unit (the case-type cap only concerns 处置). Keys without a row (no
    category, or a category without a 立案 limit) are answered by `stage_limit` itself.
    `test_register_limits_match_stage_limit` holds the two together.
    """
    categories = {category_id for category_id, _, _ in keys if category_id}
    rows = {
        (category_id, urgency): sla.Limit(Decimal(value), unit)
        for category_id, urgency, value, unit in TimeLimit.objects.filter(stage=Stage.REGISTER, category_id__in=categories)
        .values_list("category_id", "urgency", "value", "unit")
    }
    limits: dict[tuple, sla.Limit] = {}
    for category_id, urgency, case_type in keys:
        found = rows.get((category_id, urgency))
        limits[(category_id, urgency, case_type)] = found or sla.stage_limit(
            category_id=category_id, urgency=urgency, stage=Stage.REGISTER, case_type=case_type
        )
    return limits


class RegisterClock:
    """`sla.stage_fields(…, Stage.REGISTER, start, limit)` for many cases, memoised.

    Exactly as `stage_fields` computes them, but each answer is kept: per (start, limit),
    and for working-time limits also per stretch of non-office time the start falls in (a
    night, a lunch break, a weekend or holiday). Working time counted from any moment of
    such a stretch is counted from the next office opening (工作时 count only office hours;
    工作日 count from the start's date), so the deadline and the 80 % point are the same for
    every start in it; only `stage_started_at` differs, and it is the start itself.
    `intake/tests/test_imports.py::test_register_clock_matches_stage_fields` checks this
    against `stage_fields` on random starts, weekends and 调休 days included.
    """

    def __init__(self) -> None:
        from cityops.catalog import workcal

        self.workcal = workcal
        self.spans = workcal.office_hours().spans
        self.workdays: dict[date, bool] = {}
        self.memo: dict[tuple, dict[str, Any]] = {}

    def _key(self, start: datetime, limit: sla.Limit) -> tuple:
        if limit.unit not in sla.WORKING_UNITS:
            return (limit, start)
        local = start.astimezone(self.workcal.TZ)
        day = local.date()
        workday = self.workdays.get(day)
        if workday is None:
            workday = self.workdays[day] = self.workcal.is_workday(day)
        if not workday:
            return (limit, day, "closed")
        clock = timedelta(hours=local.hour, minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
        for index, (opens, closes) in enumerate(self.spans):
            if clock < opens:
                return (limit, day, index)  # before this span opens
            if clock < closes:
                return (limit, start)  # within office hours: exact
        return (limit, day, len(self.spans))  # after closing time

    def fields(self, start: datetime, limit: sla.Limit) -> dict[str, Any]:
        key = self._key(start, limit)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = sla.stage_fields(None, Stage.REGISTER, start, limit)
        return found if found["stage_started_at"] == start else {**found, "stage_started_at": start}


def _write(valid: list[list], *, actor, import_id: str, now: datetime, result: ImportResult, progress: ProgressFn) -> list[int]:
    """Insert the validated rows and their create events, a chunk per transaction; a failed
    chunk undoes the ones before it (see the module docstring)."""
    writer = _ChunkWriter(valid, actor=actor, import_id=import_id, now=now)
    ids: list[int] = []
    commit_seconds = 0.0
    progress("write", 0, len(valid))
    try:
        with _SqliteBigCache(), patient_writer():
            for start in range(0, len(valid), BATCH_SIZE):
                prepared = writer.prepare(start)
                began = time.perf_counter()
                with transaction.atomic():  # BEGIN IMMEDIATE on SQLite: waits while another request writes
                    waited = time.perf_counter() - began
                    chunk_ids, numbers = writer.insert(prepared)
                    commit_started = time.perf_counter()
                commit_seconds += time.perf_counter() - commit_started
                ids.extend(chunk_ids)
                result.first_number = result.first_number or numbers[0]
                result.last_number = numbers[-1]
                progress("write", len(ids), len(valid))
                if start + BATCH_SIZE < len(valid):
                    let_others_write(time.perf_counter() - began - waited, contended=waited > CONTENDED_SECONDS)
    except BaseException:
        _undo(ids, import_id)
        raise
    result.timings["commit"] = round(commit_seconds, 3)
    transaction.on_commit(lambda: cases_imported.send(sender=Case, import_id=import_id, case_ids=ids))
    return ids


def _undo(ids: list[int], import_id: str) -> None:
    """Delete the cases of the chunks an import committed before one of its chunks failed."""
    if not ids:
        return
    try:
        for start in range(0, len(ids), BATCH_SIZE):
            with transaction.atomic():
                Case.objects.filter(pk__in=ids[start : start + BATCH_SIZE]).delete()
    except Exception:
        logger.exception("import %s failed and its %s cases could not be removed again (ids %s…%s)",
                         import_id, len(ids), ids[0], ids[-1])
        raise
    logger.warning("import %s failed; the %s cases of its committed chunks were removed again", import_id, len(ids))


class _ChunkWriter:
    """What every chunk of one import shares: reserved numbers and tracking codes, the 立案
    limits and clock, the prepared INSERTs. `prepare(start)` builds one chunk's rows, `insert`
writes them (inside the chunk's transaction: only the INSERTs hold the write lock)."""

    def __init__(self, valid: list[list], *, actor, import_id: str, now: datetime) -> None:
        self.valid = valid
        self.import_id = import_id
        self.adapt_dt = _datetime_adapter()
        self.adapt_json = connection.ops.adapt_json_value
        self.tz = timezone.get_current_timezone()
        days = Counter(item[R_CREATED].astimezone(self.tz).date() for item in valid)
        with transaction.atomic():  # one short transaction for all the days (one commit, not one per day)
            self.numbers = {day: iter(case_numbers_reserve(day, count)) for day, count in sorted(days.items())}
        self.codes = _tracking_codes(len(valid))
        self.created_by = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
        self.label = (str(actor) if self.created_by else "") or IMPORT_LABEL
        self.limits = register_limits({(item[R_CATEGORY], item[R_URGENCY], item[R_TYPE]) for item in valid})
        self.register_clock = RegisterClock()
        self.adapted: dict[tuple, tuple] = {}  # (deadline, warn_at) → as the database takes them
        self.preassign = connection.vendor == "postgresql"  # ids drawn from the sequence, rows COPYed with them
        self.cases = _Inserter(Case, ["id", *_CASE_COLUMNS] if self.preassign else _CASE_COLUMNS)
        self.events = _Inserter(CaseEvent, _EVENT_COLUMNS)
        self.updated = self.adapt_dt(now)

    def write(self, start: int) -> tuple[list[int], list[str]]:
        """INSERT rows valid[start:start + BATCH_SIZE] and their events: (case ids, case numbers)."""
        return self.insert(self.prepare(start))

    def prepare(self, start: int) -> tuple[list, list[str], list, list]:
        """The rows of one chunk as the database takes them (no query: done outside the transaction)."""
        batch = self.valid[start : start + BATCH_SIZE]
        case_rows = []
        numbers = []
        created_values = []
        for offset, item in enumerate(batch):
            created = item[R_CREATED]
            limit = self.limits[(item[R_CATEGORY], item[R_URGENCY], item[R_TYPE])]
            fields = self.register_clock.fields(created, limit)
            moments = (fields["deadline"], fields["warn_at"])
            clock = self.adapted.get(moments)
            if clock is None:
                clock = self.adapted[moments] = (self.adapt_dt(moments[0]), self.adapt_dt(moments[1]))
            number = next(self.numbers[created.astimezone(self.tz).date()])
            created_db = self.adapt_dt(created)
            numbers.append(number)
            created_values.append(created_db)
            case_rows.append([
                number, self.codes[start + offset], item[R_CHANNEL], item[R_EXTERNAL], item[R_TYPE], item[R_CATEGORY],
                item[R_URGENCY], item[R_TITLE], item[R_DESCRIPTION], item[R_LON], item[R_LAT],
                item[R_COORD] if item[R_LON] is not None else CoordSystem.WGS84, item[R_ADDRESS],
                item[R_GRID], item[R_COMMUNITY], item[R_STREET], item[R_NAME], item[R_PHONE], Status.NEW,
                self.created_by, created_db, self.updated, fields["stage"], created_db, fields["stage_unit"], *clock,
                fields["sla_level"],
            ])
        return batch, numbers, created_values, case_rows

    def insert(self, prepared: tuple[list, list[str], list, list]) -> tuple[list[int], list[str]]:
        batch, numbers, created_values, case_rows = prepared
        if self.preassign:
            pks = _next_ids(Case, len(case_rows))
            self.cases.insert([[pk, *row] for pk, row in zip(pks, case_rows, strict=True)])
        else:
            self.cases.insert(case_rows)
            pks = _case_ids(numbers)
        event_rows = []
        for pk, created_db, item in zip(pks, created_values, batch, strict=True):
            payload = {"channel": item[R_CHANNEL], "coord_system": item[R_COORD], "import": self.import_id, "row": item[R_ROW]}
            event_rows.append([pk, created_db, self.created_by, self.label, Action.CREATE, "", Status.NEW,
                               self.adapt_json(payload, None)])
        self.events.insert(event_rows)
        return list(pks), numbers


def refresh_derived(case_ids: list[int]) -> dict[str, float]:
    """Bring what other apps derive from new cases up to date, once the import has committed.

    `case_create` feeds them through `case_events_committed`, one case at a time; for an
    import that would be 100,000 receiver calls, so their own rules are applied in bulk:
    the duplicate-search rows of the new open, located cases (what
    `routing.duplicates.index_case` writes), and the analytics counts and open-case snapshot
    of a `create` event (what `analytics.rollups.apply_event` does: `created_facts`, `bump`,
    `open_case_fields`). A failure is logged and never undoes the import; `cityops routing
    reindex` and `cityops rollup_rebuild` repair. Its cost grows with the file, not the database.
    """
    from django.apps import apps

    timings: dict[str, float] = {}
    with patient_writer():
        for app, label, job, repair in (
            ("cityops.routing", "duplicate_index", _index_duplicates, "cityops routing reindex"),
            ("cityops.analytics", "rollups", _count_in_rollups, "cityops rollup_rebuild"),
        ):
            if not apps.is_installed(app):
                continue
            started = time.perf_counter()
            try:
                job(case_ids)
            except Exception:
                logger.exception("%s after import failed; run `%s`", label, repair)
            timings[label] = round(time.perf_counter() - started, 3)
    return timings


_ROLLUP_FIELDS = (
    "id", "number", "status", "channel", "case_type", "category_id", "community_id", "grid_id", "street_id", "created_at",
    "deadline", "warn_at", "clock_paused_at", "sla_level", "lon", "lat",
)


def _count_in_rollups(case_ids: list[int]) -> None:
    from cityops.analytics.models import OpenCase
    from cityops.analytics.rollups import bump, created_facts, local_day, open_case_fields
    from cityops.cases.states import OPEN_STATUSES

    # Counted over the whole import first: one upsert per (day, street, dimension, key), not per
    # case. The open-case rows go in per chunk, each insert its own short write (ignore_conflicts:
    # a repeated run adds nothing), so the site's other writes are not held up meanwhile.
    counts: Counter = Counter()
    for start in range(0, len(case_ids), BATCH_SIZE):
        snapshot = []
        cases = Case.objects.filter(pk__in=case_ids[start : start + BATCH_SIZE]).only(*_ROLLUP_FIELDS).order_by()
        for case in cases:
            day, street_id = local_day(case.created_at), case.street_id or 0
            counts.update((day, street_id, dim, key) for dim, key in created_facts(case))
            if case.status in OPEN_STATUSES:
                snapshot.append(OpenCase(case_id=case.pk, **open_case_fields(case)))
        began = time.perf_counter()
        OpenCase.objects.bulk_create(snapshot, ignore_conflicts=True)
        if start + BATCH_SIZE < len(case_ids):
            let_others_write(time.perf_counter() - began)
    with transaction.atomic():
        bump((*key, n) for key, n in counts.items())


def _index_duplicates(case_ids: list[int]) -> None:
    from cityops.cases.states import OPEN_STATUSES
    from cityops.routing.duplicates import cell_of, summary
    from cityops.routing.models import DuplicateIndexEntry

    for start in range(0, len(case_ids), BATCH_SIZE):
        rows = (
            Case.objects.filter(pk__in=case_ids[start : start + BATCH_SIZE], status__in=OPEN_STATUSES, lat__isnull=False,
                                lon__isnull=False, master__isnull=True)
            .order_by().values_list("pk", "lon", "lat", "created_at", "title", "description")
        )
        entries = [DuplicateIndexEntry(case_id=pk, cell=cell_of(lon, lat), lat=lat, lon=lon, created_at=created_at,
                                       text=summary(title, description)) for pk, lon, lat, created_at, title, description in rows]
        began = time.perf_counter()
        DuplicateIndexEntry.objects.bulk_create(entries, ignore_conflicts=True)
        if start + BATCH_SIZE < len(case_ids):
            let_others_write(time.perf_counter() - began)


# ---------------------------------------------------------------- the service


def cases_import(
    *,
    source,
    filename: str = "",
    actor=None,
    actor_label: str = "",
    skip_invalid: bool = False,
    dry_run: bool = False,
    progress: ProgressFn | None = None,
    request=None,
    now: datetime | None = None,
    import_id: str | None = None,
    refresh: bool = True,
) -> ImportResult:
    """Import cases from an .xlsx or .csv file (a path or an open binary file).

    All-or-nothing by default: any invalid row rejects the whole file and nothing is
    written. With `skip_invalid`, the valid rows are imported and the others reported.
    Problems with the file itself (format, encoding, headers, no data, too many rows)
    always reject it. `dry_run` validates only. The result is recorded in the audit trail.
    Never raises for bad input: the result's `status`, `message` and `errors` say what
    happened (`failed` if the database refused the write; nothing is then written).

    After the write, `refresh_derived` updates what other apps derive from new cases; with
    `refresh=False` the caller runs `result.refresh()` itself once it has shown the result
    (the upload page and the command do, so people see the outcome without waiting for it).
    """
    started = time.perf_counter()
    now = now or timezone.now()
    progress = progress or (lambda phase, done, total: None)
    result = ImportResult(import_id=import_id or uuid.uuid4().hex[:12], filename=(filename or str(source))[-200:],
                          dry_run=dry_run, skip_invalid=skip_invalid)
    errors = ErrorList()
    fh, owned = open_source(source)
    try:
        _run(fh, result, errors, actor=actor, skip_invalid=skip_invalid, dry_run=dry_run, progress=progress, now=now)
    except FileRejected as exc:
        errors.add(0, None, "", "", exc.message, exc.code, fatal=True)
        result.status = "rejected"
        result.message = exc.message
    except Exception:
        # The chunk that failed was rolled back and `_undo` removed the ones before it.
        logger.exception("import %s failed", result.import_id)
        result.status = "failed"
        result.created = 0
        result.message = "导入失败：写入数据库时出错，已全部回滚，没有写入任何案件。请稍后重试或联系管理员。"
    finally:
        if owned:
            fh.close()
    result.errors = errors.items
    result.errors_total = errors.total
    result.invalid_rows = len(errors.bad_rows)
    result.seconds = time.perf_counter() - started
    if not result.message:
        result.message = _message(result)
    audit_record(
        action=AuditAction.IMPORT, actor=actor, actor_label=actor_label, request=request,
        target=f"cases:import:{result.import_id}", details=result.summary(),
    )
    if refresh:
        progress("refresh", 0, None)
        result.refresh()
    return result


def _message(result: ImportResult) -> str:
    if result.status == "ok":
        return f"导入成功：新增 {result.created} 件案件。"
    if result.status == "partial":
        return f"已导入 {result.created} 件案件，跳过 {result.skipped} 行有问题的数据（见错误清单）。"
    if result.status == "valid":
        return f"校验通过：{result.rows_valid} 行数据均可导入（试运行，未写入）。"
    if result.status == "rejected":
        rows = f"{result.invalid_rows} 行" if result.invalid_rows else "文件"
        return f"校验未通过：{rows}有问题，共 {result.errors_total} 处错误，没有导入任何数据。请修改后重新导入，或勾选“跳过有问题的行”。"
    return ""


def _run(fh, result: ImportResult, errors: ErrorList, *, actor, skip_invalid: bool, dry_run: bool,
         progress: ProgressFn, now: datetime) -> None:
    t0 = time.perf_counter()
    result.sha256, result.size, head = file_digest(fh)
    if result.size == 0:
        raise FileRejected("文件是空的。", "empty")
    result.file_format = detect_format(result.filename, head)
    table = read_csv(fh.read()) if result.file_format == "csv" else read_xlsx(fh)
    result.encoding, result.sheet = table.encoding, table.sheet

    limit = max_rows()
    valid: list[tuple] = []
    checker: RowChecker | None = None
    mapping: dict[str, int] = {}
    header_row = 0
    seen = 0
    progress("validate", 0, None)
    for row_no, values in table.rows:
        if checker is None:
            header_row = row_no
            mapping = map_header(row_no, values, errors)
            if errors.fatal:
                explain_misplaced_header(table, row_no, errors)
                result.status = "rejected"
                return
            checker = RowChecker(mapping, errors, now)
            continue
        seen += 1
        if seen > limit:
            raise FileRejected(f"数据超过单次导入上限 {limit} 行，请拆分后分批导入。", "too_many_rows")
        item = checker.check(row_no, values)
        if item is not None:
            valid.append(item)
        if seen % 2000 == 0:
            progress("validate", seen, table.estimate(seen))
    if checker is None:
        raise FileRejected("文件中没有表头和数据行（第一行应为表头，请使用导入模板）。", "empty")
    result.rows_total = seen
    progress("validate", seen, seen)
    check_merged(table.merged(), header_row, mapping, errors)
    if seen == 0:
        raise FileRejected("文件只有表头，没有数据行。", "empty")
    checker.locate_rows(valid, progress)
    check_existing_external_ids(valid, errors, mapping)
    if errors.bad_rows:
        valid = [item for item in valid if item[R_ROW] not in errors.bad_rows]
    result.rows_valid = len(valid)
    result.timings["validate"] = round(time.perf_counter() - t0, 3)

    if errors.fatal or (errors.total and not skip_invalid):
        result.status = "rejected"
        return
    if dry_run:
        result.status = "valid" if not errors.total else "rejected"
        return
    if not valid:
        result.status = "rejected"
        return
    t1 = time.perf_counter()
    ids = _write(valid, actor=actor, import_id=result.import_id, now=now, result=result, progress=progress)
    result.created = len(valid)
    result.skipped = seen - len(valid)
    result.status = "partial" if result.skipped else "ok"
    result.timings["write"] = round(time.perf_counter() - t1, 3)
    result.case_ids = ids


