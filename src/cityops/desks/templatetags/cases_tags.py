"""Template helpers of the case pages: status badge, SLA dot, masked reporter and free text, row action buttons."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.html import format_html

from cityops.cases.selectors import reporter_view
from cityops.cases.states import Action, Status
from cityops.desks import presenters
from cityops.desks.forms import ONE_CLICK

register = template.Library()

# Actions a queue row runs with one click (everything else opens its small form under the row).
ACTION_CSS = {
    Action.REJECT: "danger", Action.RETURN: "danger", Action.DENY_EXTENSION: "danger",
    Action.REGISTER: "primary", Action.DISPATCH: "primary", Action.SIGN: "primary", Action.RESPOND: "primary",
    Action.VERIFY: "primary", Action.APPROVE_EXTENSION: "primary", Action.CALLBACK: "primary",
    Action.ACCEPT_RETURN: "primary", Action.REJECT_RETURN: "danger",
}


# Short button labels for crowded queue rows (the form itself shows the full action name).
SHORT_LABELS = {
    Action.REJECT: "不予立案", Action.ANSWER: "答复", Action.MERGE: "合并", Action.RESPOND: "反馈",
    Action.REQUEST_EXTENSION: "延期", Action.RETURN: "退单", Action.APPROVE_EXTENSION: "批准",
    Action.DENY_EXTENSION: "驳回", Action.RESUME: "恢复", Action.CALLBACK: "回访",
}


@register.simple_tag
def status_badge(case) -> str:
    css = presenters.STATUS_CSS.get(case.status, "")
    label = Status(case.status).label if case.status in Status.values else case.status
    return format_html('<span class="badge status {}">{}</span>', css, label)


@register.inclusion_tag("cases/_sla_dot.html", takes_context=True)
def sla_dot(context, case, show_text: bool = True):
    now = context.get("now") or timezone.now()
    return {"sla": presenters.sla_view(case, now), "show_text": show_text}


@register.simple_tag(takes_context=True)
def reporter(context, case) -> str:
    """The reporter's name and phone as the current user may see them (masked unless allowed)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    view = reporter_view(case, user)
    parts = [p for p in (view["name"], view["phone"]) if p]
    return " ".join(parts) or "—"


@register.filter(name="pii")
def pii(text, user) -> str:
    """Free text as `user` may see it: `{{ case.description|pii:request.user|truncatechars:40 }}`
    (mask before truncating, so a cut never leaves half a number in clear). Personal data typed
    into the text is masked unless the user's role may see it (`presenters.shown_text`); no
    user (a template without the request) masks."""
    return presenters.shown_text(text if isinstance(text, str) else ("" if text is None else str(text)), user)


def is_one_click(case, action) -> bool:
    if action in ONE_CLICK:
        return True
    if action == Action.REGISTER and case.category_id:
        return True
    return action == Action.APPROVE_EXTENSION


@register.inclusion_tag("cases/_row_actions.html", takes_context=True)
def row_actions(context, case, actions):
    return {
        "case": case,
        "buttons": [
            {"action": a, "label": SHORT_LABELS.get(a, a.label), "title": a.label, "css": ACTION_CSS.get(a, ""),
             "quick": is_one_click(case, a)}
            for a in actions
        ],
        "next": context.get("next", ""),
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }


@register.inclusion_tag("cases/_photo_compare.html")
def photo_compare(case):
    """The reporter's photos beside the department's latest after-photos (what 核查 compares)."""
    from cityops.cases.models import AttachmentKind

    photos = list(case.attachments.filter(kind__in=[AttachmentKind.BEFORE, AttachmentKind.AFTER]).order_by("created_at", "id"))
    after = [p for p in photos if p.kind == AttachmentKind.AFTER]
    latest_event = after[-1].event_id if after else None
    return {
        "case": case,
        "before": [p for p in photos if p.kind == AttachmentKind.BEFORE][:3],
        "after": [p for p in after if p.event_id == latest_event][:3],  # those of the latest 处置反馈
    }


@register.filter
def action_label(action) -> str:
    try:
        return Action(action).label
    except ValueError:
        return str(action)


@register.filter
def unit_label(unit) -> str:
    from cityops.catalog.models import LimitUnit

    return LimitUnit(unit).label if unit in LimitUnit.values else (unit or "")


@register.filter
def dept_label(department) -> str:
    """A department's short name (or name), or a dash when the case has none."""
    if department is None:
        return "—"
    return department.short_name or department.name
