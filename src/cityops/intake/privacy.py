"""How the intake app anonymises its own rows (declared as an "anonymisers" hook in
intake/plugin.py, run by `cases.privacy.personal_data_anonymise`).

The payload an outside system sent (`IntakeRecord.payload`: the 12345 order's reporter,
Open311's name, phone and e-mail, a device id) loses its personal keys, and every text left in
it goes through `cases.privacy.scrub_text`, once the case is past the retention period. Only
records that still hold such a key are selected, so a run repeats nothing a previous run did.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from cityops.cases.models import Case
from cityops.cases.privacy import batches, scrub_text
from cityops.intake.models import IntakeRecord

# Keys of outside systems' payloads that name or reach a person.
PERSONAL_KEYS = frozenset({
    "reporter_name", "reporter_phone", "first_name", "last_name", "name", "phone", "email", "device_id",
    "account_id", "contact", "mobile", "id_number",
})


def records_to_do(cases: QuerySet[Case]) -> QuerySet[IntakeRecord]:
    return IntakeRecord.objects.filter(case__in=cases, payload__has_any_keys=sorted(PERSONAL_KEYS))


def strip_payload(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_payload(v) for k, v in value.items() if k not in PERSONAL_KEYS}
    if isinstance(value, list):
        return [strip_payload(v) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def anonymise_intake_records(cases: QuerySet[Case], *, dry_run: bool, batch: int) -> dict[str, int]:
    """The intake records of `cases` (closed past the retention period) without personal data:
    {"intake_records": how many were (or, with `dry_run`, would be) changed}."""
    if dry_run:
        return {"intake_records": records_to_do(cases).count()}
    done = 0
    for pks in batches(records_to_do(cases), batch):
        with transaction.atomic():
            for pk, payload in IntakeRecord.objects.filter(pk__in=pks).values_list("pk", "payload"):
                IntakeRecord.objects.filter(pk=pk).update(payload=strip_payload(payload))
            done += len(pks)
    return {"intake_records": done}
