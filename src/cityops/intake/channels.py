"""Cases from outside systems: idempotent on (channel, external id), with the original
submission kept in an IntakeRecord next to the case; and the city 12345 platform's orders,
translated through the mapping tables (`intake.mapping`) into our categories and places.

Plain functions for the API's thin handlers (`api/ingest.py`, `api/open311.py`,
`api/alarms.py` through `intake.alarms`): they parse and serialise, these decide and write."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model

from cityops.cases.errors import ValidationFailed
from cityops.cases.models import Case, Channel, CoordSystem
from cityops.cases.services import MAX_DESCRIPTION, CaseInput, case_create
from cityops.catalog.models import CaseType, Urgency
from cityops.intake.mapping import Mappings, remember_unmapped_category
from cityops.intake.models import IntakeRecord

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


def create_external_case(*, data: CaseInput, actor, api_key: Model | None, source: str,
                         record: dict[str, Any]) -> tuple[Case, bool]:
    """(case, True) for a new case; (the existing case, False) when the channel already has
    this external id — also when another request created it a moment ago (the database's
    unique constraint decides). Validation errors propagate as ValidationFailed.

    `api_key` is the calling system's `api.ApiKey` (or None), kept on the intake record."""
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


# ---------------------------------------------------------------- city 12345 platform orders


@dataclass(frozen=True)
class CityOrder:
    """One order of the city platform, validated and with its words parsed (`api/ingest.py`)."""

    order_no: str
    description: str
    case_type: str
    urgency: str | None = None
    title: str = ""
    category_text: str = ""  # the city's category text, mapped through CityCategoryMapping
    category_code: str = ""  # our leaf code, when the city already used it
    address: str = ""
    lon: float | None = None
    lat: float | None = None
    coord_system: str = CoordSystem.WGS84.value
    reporter_name: str = ""
    reporter_phone: str = ""
    payload: dict[str, Any] = field(default_factory=dict)  # what was sent, kept (masked) in the intake record


@dataclass(frozen=True)
class Placed:
    lon: float | None
    lat: float | None
    coord_system: str
    source: str  # coordinates / address_mapping / none


def city_category(order: CityOrder, maps: Mappings) -> tuple[str | None, list[str]]:
    """Our leaf code for the order (its own code if it is one of ours, else the mapped city
    text), and the note for the operator when neither gave one."""
    code = order.category_code.strip()
    text = order.category_text.strip()
    category = code if code in maps.leaf_codes else None
    if category is None and text:
        category = maps.category_for(order.category_text)
    if category is None and (text or code):
        return None, [f"【市平台分类（未映射）】{text or code}"]
    return category, []


def city_location(order: CityOrder, maps: Mappings) -> tuple[Placed, list[str]]:
    """The order's own point, else its address's mapped point, else none (and a note)."""
    if order.lon is not None or order.lat is not None:
        return Placed(order.lon, order.lat, order.coord_system, "coordinates"), []
    point = maps.point_for(order.address)
    if point is not None:
        return Placed(point.lon, point.lat, CoordSystem.WGS84.value, "address_mapping"), []
    notes = [f"【市平台地址（未定位）】{order.address.strip()}"] if order.address.strip() else []
    return Placed(None, None, order.coord_system, "none"), notes


def city_order_receive(order: CityOrder, *, actor, api_key: Model | None, source: str,
                       maps: Mappings) -> tuple[Case, bool]:
    """The case of a city order: (new case, True), or (the case this order number already
    made, False). An unmapped category text is put on the administrator's mapping list.
    ValidationFailed when the case cannot be created."""
    category, notes = city_category(order, maps)
    place, place_notes = city_location(order, maps)
    data = CaseInput(
        description=with_notes(order.description.strip(), notes + place_notes), channel=Channel.CITY_PLATFORM,
        case_type=order.case_type, title=order.title, lon=place.lon, lat=place.lat, coord_system=place.coord_system,
        address=order.address, category=category, urgency=order.urgency, reporter_name=order.reporter_name,
        reporter_phone=order.reporter_phone, external_id=order.order_no, require_location=False,
    )
    record = {
        "payload": order.payload,
        "original_category": (order.category_text.strip() or order.category_code.strip())[:200],
        "original_address": order.address.strip()[:200], "category_mapped": category is not None,
        "location_source": place.source,
    }
    case, created = create_external_case(data=data, actor=actor, api_key=api_key, source=source, record=record)
    if created and category is None and order.category_text.strip():
        remember_unmapped_category(order.category_text)
    return case, created
