"""Small read-only helpers that shape cases and events for the desk pages (`cityops.desks`).

Nothing here writes; queries go through `selectors` (scoped to the user) or read reference
data (categories, departments, streets) that every case-working role may see.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from cityops.accounts import roles
from cityops.cases import free_text, sla
from cityops.cases.models import Case, CaseEvent, SlaLevel
from cityops.cases.permissions import can_see_personal_data
from cityops.cases.states import Action, ReturnReason, Satisfaction, Status
from cityops.catalog.models import Category, Department, DepartmentKind, LimitUnit

# Roles of the command center itself: they may see the original photos (with GPS) and not only
# the public copies.
CENTER_ROLES = frozenset({roles.OPERATOR, roles.DISPATCHER, roles.LEADER})

SLA_CSS = {SlaLevel.GREEN: "sla-green", SlaLevel.YELLOW: "sla-yellow", SlaLevel.RED: "sla-red", SlaLevel.NONE: "sla-none"}
STATUS_CSS = {
    Status.NEW: "st-new", Status.REGISTERED: "st-registered", Status.DISPATCHED: "st-dispatched",
    Status.IN_PROGRESS: "st-progress", Status.RETURNED: "st-returned", Status.RESPONDED: "st-responded",
    Status.SUSPENDED: "st-suspended", Status.CLOSED: "st-closed", Status.REJECTED: "st-rejected",
}


def is_center_user(user) -> bool:
    return bool(user and user.is_authenticated and (user.is_superuser or user.has_role(*CENTER_ROLES)))


# ---------------------------------------------------------------- personal data in free text
# The rule lives in the domain (`cases.free_text`); the desks use it through these names.
FREE_TEXT_FIELDS = free_text.FREE_TEXT_FIELDS
shown_text = free_text.shown_text
case_free_text = free_text.case_free_text
event_free_text = free_text.event_free_text


# ---------------------------------------------------------------- SLA


@dataclass(frozen=True)
class SlaView:
    level: str
    label: str
    css: str
    deadline: datetime | None
    paused: bool
    remaining: str  # "剩余 3小时" / "超期 2天" / ""
    stage: str


def _span(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{minutes}分" if minutes else f"{hours}小时"
    return f"{max(minutes, 1)}分钟"


def sla_view(case: Case, now: datetime | None = None) -> SlaView:
    """The colour of a case's clock now, with its deadline and a short 剩余/超期 text (natural time)."""
    now = now or timezone.now()
    level = sla.current_level(case, now) if case.status not in (Status.CLOSED, Status.REJECTED) else SlaLevel.NONE
    paused = bool(case.clock_paused_at)
    remaining = ""
    if case.deadline and level != SlaLevel.NONE:
        if paused:
            remaining = "计时暂停"
        elif case.deadline <= now:
            remaining = f"超期 {_span(now - case.deadline)}"
        else:
            remaining = f"剩余 {_span(case.deadline - now)}"
    return SlaView(
        level=level, label=SlaLevel(level).label if level in SlaLevel.values else level, css=SLA_CSS.get(level, "sla-none"),
        deadline=case.deadline if level != SlaLevel.NONE else None, paused=paused, remaining=remaining,
        stage=case.get_stage_display() if case.stage else "",
    )


# ---------------------------------------------------------------- reference choices


def leaf_category_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Leaf categories grouped by their parent (大类, or 一级 › 二级 for the 12345 tree), for <optgroup>s."""
    groups: OrderedDict[str, list[tuple[str, str]]] = OrderedDict()
    leaves = (
        Category.objects.filter(active=True, children__isnull=True)
        .select_related("parent__parent")
        .order_by("system", "code")
    )
    for cat in leaves:
        parent = cat.parent
        if parent is None:
            label = "其他"
        elif parent.parent is not None:
            label = f"{parent.parent.name} › {parent.name}"
        else:
            label = f"{parent.code} {parent.name}"
        groups.setdefault(label, []).append((cat.code, f"{cat.code} {cat.name}"))
    return list(groups.items())


@dataclass(frozen=True)
class CategoryHint:
    """One chip of the 立案 form: a leaf category and why it is offered."""

    category: Category
    source: str  # "model" (智能分拨) or "keywords" (名称/关键词匹配)
    probability: float | None = None


def register_suggestions(case: Case, *, limit: int = 3) -> list[CategoryHint]:
    """The leaf categories to offer when registering an uncategorised case, best first.

    The active routing model's top leaves come first (`routing.services.leaf_suggestions`);
    keyword matches of the catalogue fill the rest, so chips appear even before any model is
    trained. Never raises: a failing model or index only leaves its chips out.
    """
    from cityops.catalog.selectors import suggest_categories
    from cityops.routing.services import case_text, leaf_suggestions

    text = case_text(case)
    if len(text.strip()) < 2:
        return []
    hints = [CategoryHint(s.category, "model", float(s.probability)) for s in leaf_suggestions(text, k=limit)]
    seen = {h.category.code for h in hints}
    try:
        matches = suggest_categories(text, limit=limit + len(seen))
    except Exception:  # a keyword index being rebuilt must not break the form
        matches = []
    for match in matches:
        if match.category.code not in seen:
            seen.add(match.category.code)
            hints.append(CategoryHint(match.category, "keywords"))
    return hints[:limit]


def filter_category_choices() -> list[tuple[str, str]]:
    """Every non-leaf category (大类 and the 12345 二级), for the list filter (matches their subtree)."""
    parents = Category.objects.filter(active=True, children__isnull=False).distinct().order_by("system", "code")
    return [(c.code, f"{c.code} {c.name}" if c.level <= 1 else f"  {c.code} {c.name}") for c in parents]


def department_choices(*, dispatchable: bool = False) -> list[tuple[str, str]]:
    qs = Department.objects.filter(active=True)
    if dispatchable:
        qs = qs.exclude(kind=DepartmentKind.CENTER)
    return [(d.code, d.name) for d in qs.order_by("kind", "code")]


def street_choices() -> list[tuple[str, str]]:
    from cityops.geo.models import Region, RegionLevel

    return [(r.code, r.display_name) for r in Region.objects.filter(level=RegionLevel.STREET).order_by("code")]


# ---------------------------------------------------------------- routing proposal


@dataclass(frozen=True)
class Proposal:
    department: Department | None
    reason: str
    source: str = ""


def dispatch_proposal(case: Case) -> Proposal:
    """The responsibility matrix's answer for this case (lead department + why), or why there is none."""
    if case.category_id is None:
        return Proposal(None, "案件未分类，无法按权责清单匹配。")
    try:
        from cityops.catalog.selectors import responsible_department

        assignment = responsible_department(case.category, case.street, timezone.localtime(case.created_at).date())
    except Exception as exc:  # reference data incomplete: the dispatcher chooses by hand
        return Proposal(None, f"无法匹配权责清单：{exc}")
    lead = assignment.lead
    if lead is not None and lead.kind == DepartmentKind.CENTER:
        return Proposal(None, assignment.reason, str(getattr(assignment, "source", "")))
    return Proposal(lead, assignment.reason, str(getattr(assignment, "source", "")))


# ---------------------------------------------------------------- timeline


_PAYLOAD_LABELS = {
    "channel": "渠道", "category": "分类", "department": "部门", "route": "派遣方式", "proposal": "建议部门",
    "confidence": "置信度", "reason": "原因", "value": "延期", "new_deadline": "新时限", "passed": "核查",
    "satisfaction": "满意度", "reopen": "重办", "master": "主案件", "mis_dispatch": "误派",
    "previous": "原满意度", "previous_satisfaction": "原满意度", "attempt": "未接通次数", "final": "回访",
    "suggested_department": "建议部门", "pending": "待审核",
}
_ROUTE_LABELS = {"manual": "人工派遣", "auto": "智能分拨", "router": "智能分拨", "matrix": "权责清单"}


def _department_name(code: str, cache: dict[str, str]) -> str:
    if code not in cache:
        cache[code] = Department.objects.filter(code=code).values_list("name", flat=True).first() or code
    return cache[code]


def payload_highlights(
    event: CaseEvent, department_names: dict[str, str] | None = None, *, payload: dict[str, Any] | None = None,
) -> list[tuple[str, str]]:
    """The parts of an event's payload worth a human's eye, as (label, text) pairs (`payload`:
    the payload as the viewer may see it, `event_free_text`; the stored one if not given)."""
    names = department_names if department_names is not None else {}
    payload = (event.payload or {}) if payload is None else payload
    out: list[tuple[str, str]] = []
    for key, value in payload.items():
        if value in (None, "") or key in ("coord_system", "unit"):
            continue
        label = _PAYLOAD_LABELS.get(key)
        if label is None:
            continue
        if key in ("department", "proposal", "suggested_department"):
            if key == "department" and event.department_id:
                continue  # shown from the event's own department column
            text = _department_name(str(value), names)
        elif key == "reason":
            text = ReturnReason(value).label if value in ReturnReason.values else str(value)
        elif key == "value":
            unit = payload.get("unit")
            text = f"{value} {LimitUnit(unit).label}" if unit in LimitUnit.values else str(value)
        elif key == "new_deadline":
            try:
                text = timezone.localtime(datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")
            except (TypeError, ValueError):
                text = str(value)
        elif key == "passed":
            text = "通过" if value else "不通过（返工）"
        elif key in ("satisfaction", "previous", "previous_satisfaction"):
            text = Satisfaction(value).label if value in Satisfaction.values else str(value)
        elif key == "final":
            if not value:
                continue
            text = "已达上限，记为无法联系"
        elif key == "reopen":
            if not value:
                continue
            text = "是"
        elif key == "mis_dispatch":
            if not value:
                continue
            text = "是（非本单位职责）"
        elif key == "pending":
            if not value:
                continue
            text = "退单待派遣员审核"
        elif key == "route":
            text = _ROUTE_LABELS.get(str(value), str(value))
        elif key == "channel":
            from cityops.cases.models import Channel

            text = Channel(value).label if value in Channel.values else str(value)
        elif key == "confidence":
            try:
                text = f"{float(value):.0%}"
            except (TypeError, ValueError):
                text = str(value)
        else:
            text = str(value)
        out.append((label, text))
    return out


@dataclass(frozen=True)
class EventView:
    event: CaseEvent
    action_label: str
    from_label: str
    to_label: str
    highlights: list[tuple[str, str]]
    css: str
    note: str = ""  # the event's note as the viewer may see it (`event_free_text`)


def event_views(events, user=None) -> list[EventView]:
    """The timeline rows; notes and payload texts masked unless `user` may see personal data
    (no user: masked)."""
    names: dict[str, str] = {}
    clear = can_see_personal_data(user)
    rows = []
    for ev in events:
        action_label = Action(ev.action).label if ev.action in Action.values else ev.action
        css = "ev-sla" if ev.action in (Action.SLA_WARNING, Action.SLA_OVERDUE) else f"ev-{ev.action}"
        note, payload = event_free_text(ev, user, clear=clear)
        rows.append(
            EventView(
                event=ev, action_label=action_label,
                from_label=Status(ev.from_status).label if ev.from_status in Status.values else "",
                to_label=Status(ev.to_status).label if ev.to_status in Status.values else "",
                highlights=payload_highlights(ev, names, payload=payload), css=css, note=note,
            )
        )
    return rows


# ---------------------------------------------------------------- boards


def overdue_board(cases, now: datetime | None = None) -> list[dict[str, Any]]:
    """Cases grouped by department (most red first), red before yellow inside each group."""
    now = now or timezone.now()
    groups: dict[int | None, dict[str, Any]] = {}
    for case in cases:
        view = sla_view(case, now)
        if view.level not in (SlaLevel.RED, SlaLevel.YELLOW):
            continue
        key = case.department_id
        group = groups.setdefault(key, {"department": case.department, "rows": [], "red": 0, "yellow": 0})
        group["rows"].append((case, view))
        group["red" if view.level == SlaLevel.RED else "yellow"] += 1
    order = {SlaLevel.RED: 0, SlaLevel.YELLOW: 1}
    for group in groups.values():
        group["rows"].sort(key=lambda row: (order[row[1].level], row[0].deadline or now))
    return sorted(groups.values(), key=lambda g: (-g["red"], -g["yellow"], g["department"].name if g["department"] else ""))
