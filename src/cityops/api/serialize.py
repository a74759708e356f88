"""Model → response dict, applying what the user may see (masking, available actions).

Free text (title, description, address, 处置结果, 答复, event notes and payload texts) goes
through `cases.free_text`: personal data typed into it is masked unless the user's role may
see personal data; the reporter's name and phone are masked unless revealed (`reporter_view`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from cityops.cases import sla
from cityops.cases.free_text import case_free_text, event_free_text
from cityops.cases.models import Case, CaseEvent, Channel
from cityops.cases.permissions import available_actions, can_see_personal_data
from cityops.cases.selectors import reporter_view
from cityops.cases.states import Action, Status
from cityops.catalog.models import CaseType


def _local(value: datetime | None) -> datetime | None:
    return timezone.localtime(value) if value else None


def _code_name(obj) -> dict[str, str] | None:
    return {"code": obj.code, "name": obj.name} if obj is not None else None


def _label(choices, value: str) -> str:
    try:
        return choices(value).label
    except ValueError:
        return value


def case_out(case: Case, user, now: datetime | None = None, *, reporter: dict[str, Any] | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    reporter = reporter or reporter_view(case, user)
    text = case_free_text(case, user)
    return {
        "number": case.number,
        "status": case.status,
        "status_label": _label(Status, case.status),
        "channel": case.channel,
        "channel_label": _label(Channel, case.channel),
        "case_type": case.case_type,
        "case_type_label": _label(CaseType, case.case_type),
        "category": _code_name(case.category),
        "urgency": case.urgency,
        "title": text["title"],
        "description": text["description"],
        "lon": case.lon,
        "lat": case.lat,
        "address": text["address"],
        "grid": case.grid.code if case.grid_id else None,
        "community": _code_name(case.community),
        "street": _code_name(case.street),
        "department": _code_name(case.department),
        "reporter_name": reporter["name"],
        "reporter_phone": reporter["phone"],
        "reporter_masked": reporter["masked"],
        "stage": case.stage,
        "deadline": _local(case.deadline),
        "handle_deadline": _local(case.handle_deadline),
        "sla_level": sla.current_level(case, now),
        "extension_pending": case.extension_pending,
        "return_pending": case.return_pending,
        "return_request": text["return_request"],
        "supervised": case.supervised,
        "urge_count": case.urge_count,
        "master": case.master.number if case.master_id else None,
        "result": text["result"],
        "answer": text["answer"],
        "satisfaction": case.satisfaction,
        "satisfaction_source": case.satisfaction_source,
        "satisfaction_at": _local(case.satisfaction_at),
        "citizen_satisfaction": case.citizen_satisfaction,
        "callback_status": case.callback_status,
        "callback_attempts": case.callback_attempts,
        "review_status": case.review_status,
        "created_at": _local(case.created_at),
        "registered_at": _local(case.registered_at),
        "dispatched_at": _local(case.dispatched_at),
        "responded_at": _local(case.responded_at),
        "closed_at": _local(case.closed_at),
        "version": case.version,
        "available_actions": [str(action.value) for action in available_actions(user, case)],
    }


def event_out(event: CaseEvent, user=None, *, clear: bool | None = None) -> dict[str, Any]:
    """One event of the case's history; note and payload texts masked unless `user` may see
    personal data (no user: masked). `clear`: that decision made once for a whole list."""
    note, payload = event_free_text(event, user, clear=can_see_personal_data(user) if clear is None else clear)
    return {
        "action": event.action,
        "action_label": _label(Action, event.action),
        "from_status": event.from_status,
        "to_status": event.to_status,
        "actor": event.actor_label or (str(event.actor) if event.actor_id else ""),
        "department": event.department.code if event.department_id else None,
        "note": note,
        "payload": payload,
        "created_at": _local(event.created_at),
    }
