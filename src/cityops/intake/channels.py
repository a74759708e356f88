"""Creating cases for outside systems: idempotent on (channel, external id), with the
original submission kept in an IntakeRecord next to the case."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from cityops.api.models import ApiKey, IntakeRecord
from cityops.cases.errors import ValidationFailed
from cityops.cases.models import Case
from cityops.cases.services import MAX_DESCRIPTION, CaseInput, case_create
from cityops.catalog.models import CaseType, Urgency

# Labels other systems use for our codes.
CASE_TYPE_WORDS = {label: value for value, label in CaseType.choices} | {v: v for v in CaseType.values}
URGENCY_WORDS = {"一般": Urgency.NORMAL, "普通": Urgency.NORMAL, "紧急": Urgency.URGENT, "特急": Urgency.URGENT,
                 "加急": Urgency.URGENT} | {v: v for v in Urgency.values}


def existing_case(channel: str, external_id: str) -> Case | None:
    if not external_id:
        return None
    return Case.objects.filter(channel=channel, external_id=external_id).first()


def with_notes(description: str, notes: list[str]) -> str:
    """The description with the original texts we could not map appended for the operator."""
    if not notes:
        return description
    tail = "\n" + "\n".join(notes)
    room = MAX_DESCRIPTION - len(tail)
    body = description if len(description) <= room else description[: max(0, room - 1)] + "…"
    return (body + tail)[:MAX_DESCRIPTION]


def create_external_case(*, data: CaseInput, actor, api_key: ApiKey | None, source: str,
                         record: dict[str, Any]) -> tuple[Case, bool]:
    """(case, True) for a new case; (the existing case, False) when the channel already has
    this external id — also when another request created it a moment ago (the database's
    unique constraint decides). Validation errors propagate as ValidationFailed."""
    external_id = (data.external_id or "").strip()
    found = existing_case(data.channel, external_id)
    if found is not None:
        return found, False
    try:
        with transaction.atomic():
            case = case_create(data=data, actor=actor, actor_label=source)
            IntakeRecord.objects.create(case=case, channel=data.channel, api_key=api_key, source=source[:64], **record)
    except ValidationFailed as exc:
        if exc.details == {"external_id": "duplicate"}:
            found = existing_case(data.channel, external_id)
            if found is not None:
                return found, False
        raise
    except IntegrityError:
        found = existing_case(data.channel, external_id)
        if found is not None:
            return found, False
        raise
    return case, True
