"""Reads of cases for pages and the API. Every read starts from the user's scoped queryset."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from cityops.cases.errors import CaseNotFound, ValidationFailed
from cityops.cases.models import Case, CaseEvent, Channel, SlaLevel
from cityops.cases.permissions import can_see_personal_data, cases_visible_to
from cityops.cases.services import mask_name, mask_phone
from cityops.cases.states import Action, ReturnReason, Status

LIST_RELATED = ("category", "department", "street", "community", "grid")
DATE_FILTER_MIN, DATE_FILTER_MAX = 1900, 2999  # years a date filter may name

# An exact COUNT(*) under a broad filter reads every matching row (most of a list request's
# 1.7 s at 1,000,000 cases); past this many, lists say "more than" and page no further.
LIST_COUNT_CAP = 10_000


# The filters the shared case list (`/cases/?…`) takes from its query string: other pages
# (analytics drill-down links) build list links with these names only.
LIST_FILTER_PARAMS = frozenset({
    "q", "status", "channel", "category", "street", "department", "sla", "overdue", "created_from", "created_to",
})


@dataclass
class CaseFilters:
    status: list[str] | None = None
    channel: str | None = None
    category: str | None = None
    department: str | None = None
    street: str | None = None
    grid: str | None = None
    created_from: date | datetime | None = None
    created_to: date | datetime | None = None
    overdue: bool | None = None
    sla: str | None = None
    q: str | None = None


def _as_aware(value: date | datetime, *, end: bool) -> datetime:
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    start = timezone.make_aware(datetime.combine(value, datetime.min.time()))
    return start + timedelta(days=1) if end else start


def case_list(*, user, filters: CaseFilters | None = None, now: datetime | None = None) -> QuerySet[Case]:
    """Cases the user may see, filtered; newest first (overdue filters: most overdue first)."""
    f = filters or CaseFilters()
    now = now or timezone.now()
    qs = cases_visible_to(user).select_related(*LIST_RELATED)
    errors: dict[str, str] = {}
    if f.status:
        bad = [s for s in f.status if s not in Status.values]
        if bad:
            errors["status"] = f"未知状态: {', '.join(bad)}"
        qs = qs.filter(status__in=f.status)
    if f.channel:
        if f.channel not in Channel.values:
            errors["channel"] = f"未知渠道: {f.channel}"
        qs = qs.filter(channel=f.channel)
    if f.category:
        qs = qs.filter(Q(category__code=f.category) | Q(category__parent__code=f.category) | Q(category__parent__parent__code=f.category))
    if f.department:
        qs = qs.filter(department__code=f.department)
    if f.street:
        qs = qs.filter(street__code=f.street)
    if f.grid:
        qs = qs.filter(grid__code=f.grid)
    created = {}
    for name in ("created_from", "created_to"):
        # Year 1 or 9999 overflows once shifted to UTC: a 500 instead of an answer.
        value = getattr(f, name)
        if value and not DATE_FILTER_MIN <= value.year <= DATE_FILTER_MAX:
            errors[name] = f"日期须在 {DATE_FILTER_MIN} 至 {DATE_FILTER_MAX} 年之间。"
            value = None
        created[name] = value
    created_from, created_to = created["created_from"], created["created_to"]
    if created_from:
        qs = qs.filter(created_at__gte=_as_aware(created_from, end=False))
    if created_to:
        qs = qs.filter(created_at__lt=_as_aware(created_to, end=True))
    if created_from and created_to and _as_aware(created_from, end=False) >= _as_aware(created_to, end=True):
        errors["created_from"] = "开始日期不能晚于结束日期。"
    if f.overdue is True:
        qs = qs.overdue(now)
    elif f.overdue is False:
        qs = qs.not_overdue(now)
    if f.sla:
        if f.sla in (SlaLevel.RED, SlaLevel.YELLOW, SlaLevel.GREEN):
            qs = qs.at_level(f.sla, now)
        else:
            errors["sla"] = "时限状态无效。"
    if f.q:
        term = f.q.strip()
        qs = qs.filter(Q(number__icontains=term) | Q(description__icontains=term) | Q(address__icontains=term) | Q(title__icontains=term))
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors)
    if f.overdue is True or f.sla == SlaLevel.RED:
        # Most overdue first: what the overdue board is for, and the `case_overdue` index's
        # order (newest-first would wade through every recent open case that is not late).
        return qs.order_by("deadline", "id")
    return qs.order_by("-created_at", "-id")


def count_capped(qs: QuerySet, cap: int | None = None) -> tuple[int, bool]:
    """(number of rows, whether it was capped): counts at most `cap + 1` rows."""
    cap = LIST_COUNT_CAP if cap is None else cap
    n = qs.order_by().values("pk")[: cap + 1].count()
    return (cap, True) if n > cap else (n, False)


def case_get(*, user, number: str) -> Case:
    """One case by number, or CaseNotFound if it does not exist *or* is outside the user's scope."""
    case = cases_visible_to(user).select_related(*LIST_RELATED, "master").filter(number=number).first()
    if case is None:
        raise CaseNotFound("案件不存在。")
    return case


def case_events(*, case: Case) -> QuerySet[CaseEvent]:
    return case.events.select_related("actor", "department").order_by("created_at", "id")


def return_details(cases) -> dict[int, dict[str, Any]]:
    """The latest 退单 of each case that has one pending or is back at the center, by case pk:
    {"reason", "note", "suggested_department", "department", "requested_at"} as the department
    gave them (the request kept on the case; for returns made before requests were kept, the
    last return event)."""
    from cityops.catalog.models import Department

    found = {c.pk: dict(c.return_request) for c in cases if c.return_request}
    older = [c.pk for c in cases if c.pk not in found and c.status == Status.RETURNED]
    events = CaseEvent.objects.filter(case__in=older, action=Action.RETURN).order_by("created_at", "id") if older else []
    for event in events:
        found[event.case_id] = {**(event.payload or {}), "note": (event.payload or {}).get("note") or event.note}
    codes = {d.get(k) for d in found.values() for k in ("department", "suggested_department")} - {None, ""}
    names: dict[str, str] = {
        code: short or name
        for code, short, name in Department.objects.filter(code__in=codes).values_list("code", "short_name", "name")
    }
    for details in found.values():
        reason = details.get("reason")
        details["reason_label"] = ReturnReason(reason).label if reason in ReturnReason.values else (reason or "")
        department = details.get("department") or ""
        suggested = details.get("suggested_department") or ""
        details["department_name"] = names.get(department, department)
        details["suggested_name"] = names.get(suggested, suggested)
    return found


def rework_details(cases) -> dict[int, CaseEvent]:
    """For each case sent back to its department by a failed 核查 and not yet responded again:
    the failed verify event (its note is the reason; `attachments` holds the inspector's photo)."""
    ids = [c.pk for c in cases if c.rework_count and c.status == Status.IN_PROGRESS]
    if not ids:
        return {}
    dispatched = {c.pk: c.dispatched_at for c in cases}
    latest: dict[int, CaseEvent] = {}
    events = CaseEvent.objects.filter(case__in=ids, action__in=[Action.VERIFY, Action.RESPOND]).order_by("created_at", "id")
    for event in events.prefetch_related("attachments"):
        latest[event.case_id] = event
    return {
        pk: event for pk, event in latest.items()
        if event.action == Action.VERIFY and (event.payload or {}).get("passed") is False
        and (dispatched.get(pk) is None or event.created_at >= dispatched[pk])
    }


def reporter_view(case: Case, user, *, reveal: bool = False) -> dict[str, Any]:
    """The reporter's name and phone as shown: masked by default, for everyone.

    Only `reveal=True` for a user whose role may see personal data gives the full values;
    callers that reveal for a person record it (`cases.privacy.reporter_reveal`). Machine
    transfers (webhooks to a system allowed personal data) pass `reveal=True` themselves.
    """
    allowed = can_see_personal_data(user)
    present = bool(case.reporter_name or case.reporter_phone)
    if allowed and reveal:
        return {"name": case.reporter_name, "phone": case.reporter_phone, "masked": False, "can_reveal": False}
    return {
        "name": mask_name(case.reporter_name), "phone": mask_phone(case.reporter_phone), "masked": True,
        "can_reveal": allowed and present,
    }


def after_photos(cases) -> dict[int, Any]:
    """The department's latest after-photo (处置后照片) of each case, by case pk."""
    from cityops.cases.models import Attachment, AttachmentKind

    latest: dict[int, Any] = {}
    for photo in Attachment.objects.filter(case__in=[c.pk for c in cases], kind=AttachmentKind.AFTER).order_by("created_at", "id"):
        latest[photo.case_id] = photo
    return latest


def satisfaction_events(cases) -> dict[int, CaseEvent]:
    """The latest rating, callback or correction of each case (who said what, with their words), by case pk."""
    from cityops.cases.states import Action

    actions = [Action.RATE, Action.CALLBACK, Action.CORRECT_SATISFACTION]
    latest: dict[int, CaseEvent] = {}
    for event in CaseEvent.objects.filter(case__in=[c.pk for c in cases], action__in=actions).order_by("created_at", "id"):
        if (event.payload or {}).get("satisfaction") == "unsatisfied" or event.case_id not in latest:
            latest[event.case_id] = event
    return latest
