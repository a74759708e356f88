"""Case endpoints: intake, listing, detail, history and workflow actions.

Handlers only parse, call `cityops.cases` services/selectors and serialize; scope,
permissions and rules live in the cases app.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status

from cityops.api.errors import ApiError
from cityops.api.schemas import (
    ActionIn,
    CaseIn,
    CaseOut,
    CasePage,
    CaseQuery,
    ErrorOut,
    EventOut,
    documented_choices,
)
from cityops.api.serialize import case_out, event_out
from cityops.cases.errors import NotAllowed
from cityops.cases.models import Channel
from cityops.cases.permissions import can_see_personal_data
from cityops.cases.selectors import CaseFilters, case_events, case_get, case_list, count_capped
from cityops.cases.services import (
    CaseInput,
    case_create,
    channels_for,
    check_channel,
)
from cityops.cases.states import TRANSITIONS
from cityops.cases.workflow import case_transition

router = Router(tags=["案件"])

# 413: a body over DATA_UPLOAD_MAX_MEMORY_SIZE (errors.too_big).
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 413: ErrorOut}


def _channel_for(user, requested: str | None) -> str:
    """The requested channel, or the role's default; the rule is `cases.services.check_channel`."""
    if requested is None:
        allowed = channels_for(user)
        return allowed[0] if allowed else Channel.API
    check_channel(user, requested)
    return requested


@router.post("", response={201: CaseOut, **ERRORS, 503: ErrorOut}, summary="上报案件")
def create_case(request: HttpRequest, payload: CaseIn):
    user = request.auth
    if not user.has_perm("cases.add_case"):
        raise NotAllowed("您的角色无权上报案件。")
    data = CaseInput(
        description=payload.description,
        channel=_channel_for(user, payload.channel.value if payload.channel else None),
        case_type=payload.type.value,
        title=payload.title,
        lon=payload.lon,
        lat=payload.lat,
        coord_system=payload.coord_system.value,
        address=payload.address,
        category=payload.category or None,
        urgency=payload.urgency.value if payload.urgency else None,
        reporter_name=payload.reporter_name,
        reporter_phone=payload.reporter_phone,
        no_callback=payload.no_callback,
        external_id=payload.external_id,
    )
    case = case_create(data=data, actor=user)
    # The creator always sees the case (created_by); answer from the instance just written
    # instead of reading it back (the re-read was half of the request's CPU).
    return Status(201, case_out(case, user))


@router.get("", response={200: CasePage, 400: ErrorOut, 401: ErrorOut}, summary="案件列表")
def list_cases(request: HttpRequest, query: Query[CaseQuery]):
    user = request.auth
    statuses = [s.strip() for raw in (query.status or []) for s in raw.split(",") if s.strip()]
    filters = CaseFilters(
        status=statuses or None, channel=query.channel or None, category=query.category or None,
        department=query.department or None, street=query.street or None, grid=query.grid or None,
        created_from=query.created_from, created_to=query.created_to, overdue=query.overdue,
        sla=query.sla or None, q=query.q or None,
    )
    now = timezone.now()
    qs = case_list(user=user, filters=filters, now=now).select_related("master")
    start = (query.page - 1) * query.page_size
    count, capped = count_capped(qs)
    return {
        "count": count,
        "count_capped": capped,
        "page": query.page,
        "page_size": query.page_size,
        "results": [case_out(case, user, now) for case in qs[start : start + query.page_size]],
    }


@router.get("/{number}", response={200: CaseOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}, summary="案件详情")
def get_case(request: HttpRequest, number: str, reveal_personal_data: bool = False):
    """Reporter name and phone are masked; `reveal_personal_data=true` returns them in full
    for roles allowed to see personal data (403 otherwise), recorded in the audit trail."""
    case = case_get(user=request.auth, number=number)
    if not reveal_personal_data:
        return case_out(case, request.auth)
    from cityops.cases.privacy import reporter_reveal

    return case_out(case, request.auth, reporter=reporter_reveal(case=case, user=request.auth, request=request, via="api"))


@router.get("/{number}/events", response={200: list[EventOut], 401: ErrorOut, 404: ErrorOut}, summary="案件办理记录")
def list_events(request: HttpRequest, number: str):
    case = case_get(user=request.auth, number=number)
    clear = can_see_personal_data(request.auth)  # notes and payload texts masked unless the role may see personal data
    return [event_out(event, request.auth, clear=clear) for event in case_events(case=case)]


@router.post("/{number}/actions/{action}", response={200: CaseOut, **ERRORS}, summary="执行案件操作")
def act(request: HttpRequest, number: str, action: documented_choices(TRANSITIONS), payload: ActionIn | None = None):
    """Actions: register, reject, answer, merge, dispatch, sign, return, request_extension,
    approve_extension, deny_extension, suspend, resume, respond, verify, callback, callback_attempt,
    correct_satisfaction, review, reopen, accept_return, reject_return, supervise, urge.

    respond and verify also accept multipart/form-data: the same fields as form fields plus the
    photos as files named `photos` (处置后照片 / 核查照片). A 部件 case or an inspector's report
    needs at least one after-photo with respond (400 otherwise, nothing written)."""
    if action not in TRANSITIONS:
        raise ApiError(400, "unknown_action", f"未知的操作：{action}", {"action": action, "choices": [str(a) for a in TRANSITIONS]})
    user = request.auth
    case = case_get(user=user, number=number)
    body = payload or ActionIn()
    data = body.model_dump(exclude_none=True, exclude={"version"})
    # respond / verify may carry photos: multipart/form-data with the same fields and "photos" files.
    photos = request.FILES.getlist("photos") + request.FILES.getlist("photo") if request.FILES else []
    if photos:
        data["photos"] = photos
    case = case_transition(case=case, action=action, actor=user, data=data, expected_version=body.version)
    return case_out(case, user)
