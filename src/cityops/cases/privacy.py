"""Personal data retention: reporters of long-closed cases become anonymous (个人信息保护).

A case closed (结案 or 不予立案) more than `PERSONAL_DATA_RETENTION_MONTHS` months ago keeps
what statistics need (category, location, street/grid, channel, every time stamp, status,
satisfaction) and loses what identifies the reporter:

* `Case.reporter_name` / `reporter_phone` are emptied;
* phone numbers, ID-card numbers and e-mail addresses written into the description, the
  answer, the result and the case's event notes are replaced (`scrub_text`);
* every app that keeps personal data of its own anonymises its rows of those cases: it
  declares an "anonymisers" hook in its plugin (`cityops.common.plugins`), a callable
  `(cases, *, dry_run, batch) -> {name: rows}`; the intake app removes the personal keys of the
  payloads outside systems sent (`intake/privacy.py`). This module imports no such app.

Each step selects only rows that still hold such data, so a run repeats nothing a previous
run did, can stop anywhere (batches, each its own transaction) and the next run goes on.
One audit entry per run records what was done.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from cityops.cases.models import Case, CaseEvent
from cityops.cases.states import FINAL_STATUSES
from cityops.common import plugins

BATCH = 500
REDACTED = "〔已匿名〕"
# Plain regular expressions that mean the same in Python and in the database (PostgreSQL
# ARE / SQLite's Python REGEXP), so the rows the database selects are exactly those the
# scrubber changes, and a scrubbed row is never selected again.
PERSONAL_PATTERN = "|".join([
    r"[0-9]{17}[0-9Xx]",                                   # ID-card number
    r"1[3-9][0-9]{9}",                                      # mobile phone
    r"0[0-9]{2,3}-[0-9]{7,8}",                              # landline with area code
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",     # e-mail
])
_PERSONAL = re.compile(PERSONAL_PATTERN)
ANONYMISERS = "anonymisers"  # the hook kind apps declare for their own rows


class Anonymiser(Protocol):
    def __call__(self, cases: QuerySet[Case], *, dry_run: bool, batch: int) -> dict[str, int]: ...


def anonymisers() -> tuple[Anonymiser, ...]:
    """Every installed app's anonymiser of its own rows, in INSTALLED_APPS order."""
    return plugins.hooks(ANONYMISERS)


def scrub_text(text: str) -> str:
    return _PERSONAL.sub(REDACTED, text or "")


def retention_months() -> int:
    return max(0, int(settings.PERSONAL_DATA_RETENTION_MONTHS))


def cutoff_for(months: int, now: datetime) -> datetime:
    """`now` minus whole calendar months (the 31st becomes the month's last day)."""
    local = timezone.localtime(now)
    year, month = divmod(local.month - 1 - months, 12)
    year, month = local.year + year, month + 1
    import calendar

    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


@dataclass
class AnonymiseResult:
    months: int
    cutoff: datetime | None
    cases: int = 0
    events: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # the other apps' rows, by the names their anonymisers give
    dry_run: bool = False

    @property
    def intake_records(self) -> int:
        """The intake app's count (the job's report and the command name it)."""
        return self.rows.get("intake_records", 0)

    @property
    def total(self) -> int:
        return self.cases + self.events + sum(self.rows.values())


def _old_closed_cases(cutoff: datetime) -> QuerySet[Case]:
    return Case.objects.filter(status__in=FINAL_STATUSES, closed_at__lt=cutoff)


def _cases_to_do(cutoff: datetime) -> QuerySet[Case]:
    return _old_closed_cases(cutoff).filter(
        ~Q(reporter_name="") | ~Q(reporter_phone="") | Q(description__regex=PERSONAL_PATTERN)
        | Q(answer__regex=PERSONAL_PATTERN) | Q(result__regex=PERSONAL_PATTERN)
    )


def _events_to_do(cutoff: datetime) -> QuerySet[CaseEvent]:
    return CaseEvent.objects.filter(case__in=_old_closed_cases(cutoff), note__regex=PERSONAL_PATTERN)


def batches(qs: QuerySet, batch: int):
    """Primary keys of `qs` in ascending batches; re-queried each time, so rows already done drop out."""
    last = 0
    while True:
        pks = list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch])
        if not pks:
            return
        yield pks
        last = pks[-1]


def personal_data_anonymise(
    *, months: int | None = None, now: datetime | None = None, dry_run: bool = False, batch: int = BATCH,
) -> AnonymiseResult:
    """Anonymise the reporters of cases closed more than `months` months ago (default: the setting).

    `months == 0` turns the job off. With `dry_run`, counts what would change and writes
    nothing (no audit entry either). Safe to run again at any time; records one audit entry
    per real run.
    """
    from cityops.audit.models import AuditAction
    from cityops.audit.services import audit_record

    months = retention_months() if months is None else months
    now = now or timezone.now()
    if months <= 0:
        return AnonymiseResult(months=0, cutoff=None, dry_run=dry_run)
    cutoff = cutoff_for(months, now)
    result = AnonymiseResult(months=months, cutoff=cutoff, dry_run=dry_run)
    if dry_run:
        result.cases = _cases_to_do(cutoff).count()
        result.events = _events_to_do(cutoff).count()
        for anonymise in anonymisers():
            _add(result.rows, anonymise(_old_closed_cases(cutoff), dry_run=True, batch=batch))
        return result

    for pks in batches(_cases_to_do(cutoff), batch):
        with transaction.atomic():
            for pk, description, answer, outcome in Case.objects.filter(pk__in=pks).values_list("pk", "description", "answer", "result"):
                # update(): a closed case's version and updated_at stay as they were.
                Case.objects.filter(pk=pk).update(
                    reporter_name="", reporter_phone="", description=scrub_text(description),
                    answer=scrub_text(answer), result=scrub_text(outcome),
                )
            result.cases += len(pks)
    for pks in batches(_events_to_do(cutoff), batch):
        with transaction.atomic():
            # The event log is append-only for the workflow; removing personal data from a
            # note is the one rewrite it allows, done here through update().
            for pk, note in CaseEvent.objects.filter(pk__in=pks).values_list("pk", "note"):
                CaseEvent.objects.filter(pk=pk).update(note=scrub_text(note))
            result.events += len(pks)
    for anonymise in anonymisers():
        _add(result.rows, anonymise(_old_closed_cases(cutoff), dry_run=False, batch=batch))

    details = {k: v for k, v in asdict(result).items() if k not in ("dry_run", "rows")} | result.rows
    details["cutoff"] = cutoff.isoformat()
    audit_record(action=AuditAction.ANONYMISE, actor_label="系统 (个人信息保留期限)", target="cases:reporters", details=details)
    return result


def _add(rows: dict[str, int], counts: dict[str, int]) -> None:
    for name, count in counts.items():
        rows[name] = rows.get(name, 0) + count


def privacy_job() -> dict[str, Any]:
    """The periodic job "privacy" (declared in cases/plugin.py)."""
    result = personal_data_anonymise()
    return {"months": result.months, "cases": result.cases, "events": result.events, **result.rows}


# ---------------------------------------------------------------- unmasking, on request and recorded


def reporter_reveal(*, case: Case, user, request=None, via: str = "web") -> dict[str, Any]:
    """The reporter's full name and phone for a user whose role may see them, recorded in the
    audit trail (查看个人信息); NotAllowed for anyone else. Nothing is recorded for a case
    without reporter data (an anonymous report)."""
    from cityops.audit.models import AuditAction
    from cityops.audit.services import audit_record
    from cityops.cases.errors import NotAllowed
    from cityops.cases.permissions import can_see_personal_data
    from cityops.cases.selectors import reporter_view

    if not can_see_personal_data(user):
        raise NotAllowed("您的角色不能查看反映人的完整联系方式。")
    fields = [f for f in ("reporter_name", "reporter_phone") if getattr(case, f)]
    if fields:
        audit_record(
            action=AuditAction.VIEW_PERSONAL_DATA, actor=user, request=request, target=f"case:{case.number}",
            details={"fields": fields, "via": via},
        )
    return reporter_view(case, user, reveal=True)

