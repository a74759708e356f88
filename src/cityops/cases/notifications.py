"""In-app notifications. Called after the case's transaction commits, so nobody is told of a
change that was rolled back. Each notification carries a dedupe key, so a re-run (two SLA
scans, a retried task) never tells the same person twice."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from cityops.accounts import roles
from cityops.accounts.models import User
from cityops.accounts.selectors import ROLE_LOOKUP
from cityops.cases.models import Case, CaseEvent, Notification, NotificationKind
from cityops.common.pii import mask_text


def department_members(department_id: int | None) -> list[User]:
    if not department_id:
        return []
    return list(User.objects.filter(is_active=True, department_id=department_id, **{ROLE_LOOKUP: roles.DEPARTMENT}).distinct())


def dispatchers() -> list[User]:
    return list(User.objects.filter(is_active=True, **{ROLE_LOOKUP: roles.DISPATCHER}).distinct())


def grid_inspectors(grid_id: int | None) -> list[User]:
    if not grid_id:
        return []
    return list(User.objects.filter(is_active=True, grids__id=grid_id, **{ROLE_LOOKUP: roles.INSPECTOR}).distinct())


def notify(recipients: Iterable[User], case: Case | None, kind: str, message: str, dedupe_key: str = "") -> int:
    """Create one notification per recipient; returns how many were new."""
    created = 0
    for user in {u.pk: u for u in recipients}.values():
        try:
            with transaction.atomic():
                Notification.objects.create(recipient=user, case=case, kind=kind, message=message[:300], dedupe_key=dedupe_key)
            created += 1
        except IntegrityError:
            continue  # already told
    return created


def _key(event: CaseEvent) -> str:
    return f"event:{event.pk}"


def _gist(case: Case) -> str:
    """The case in a few words. A notification is a pointer stored once for all its recipients,
    so personal data typed into the text is masked for everyone (before the cut, so no half
    number stays); the case page shows the text in clear to the roles that may see it."""
    return (mask_text(case.title) if case.title else mask_text(case.description)[:40]).rstrip("。，,.!！?？；; ")


def new_task(case: Case, event: CaseEvent) -> None:
    notify(department_members(case.department_id), case, NotificationKind.NEW_TASK,
           f"新派遣案件 {case.number}：{_gist(case)}，请及时签收。", _key(event))


def returned(case: Case, event: CaseEvent) -> None:
    dept = event.department.name if event.department else "部门"
    notify(dispatchers(), case, NotificationKind.RETURNED, f"{dept}退回案件 {case.number}，请重新派遣。", _key(event))


def return_requested(case: Case, event: CaseEvent) -> None:
    dept = event.department.name if event.department else "部门"
    notify(dispatchers(), case, NotificationKind.RETURNED,
           f"{dept}申请退回案件 {case.number}：{event.payload.get('note', '')[:60]}，请审核。", _key(event))


def return_decided(case: Case, event: CaseEvent) -> None:
    """Tell the department whether its return was accepted (it then leaves their desk) or rejected."""
    if event.action == "accept_return":
        text = f"案件 {case.number} 的退单申请已同意，案件已退回指挥中心。"
    else:
        text = f"案件 {case.number} 的退单申请被驳回，请继续处置：{event.note[:60]}"
    department_id = event.department_id or case.department_id
    notify(department_members(department_id), case, NotificationKind.RETURNED, text, _key(event))


def extension_requested(case: Case, event: CaseEvent) -> None:
    notify(dispatchers(), case, NotificationKind.EXTENSION, f"案件 {case.number} 申请延期，请审批。", _key(event))


def extension_decided(case: Case, event: CaseEvent) -> None:
    verdict = "已批准" if event.action == "approve_extension" else "未批准"
    notify(department_members(case.department_id), case, NotificationKind.EXTENSION,
           f"案件 {case.number} 的延期申请{verdict}。", _key(event))


def verify_task(case: Case, event: CaseEvent) -> None:
    notify([*grid_inspectors(case.grid_id), *dispatchers()], case, NotificationKind.NEW_TASK,
           f"案件 {case.number} 已处置反馈，请核查。", _key(event))


def rework(case: Case, event: CaseEvent) -> None:
    # A failed 核查 is new work for the same department, not a 退单 (which is the department's own act).
    notify(department_members(case.department_id), case, NotificationKind.NEW_TASK,
           f"返工：案件 {case.number} 核查未通过，请重新处置。原因：{event.note[:60]}", _key(event))


def supervised(case: Case, event: CaseEvent) -> None:
    notify(department_members(case.department_id), case, NotificationKind.SUPERVISE,
           f"案件 {case.number} 被列为督办件，请优先处置。", _key(event))


def urged(case: Case, event: CaseEvent) -> None:
    notify(department_members(case.department_id), case, NotificationKind.URGE,
           f"案件 {case.number} 被催办，请尽快处置。", _key(event))


def sla_alert(case: Case, level: str) -> int:
    """Near-due (yellow) or overdue (red) alert to the responsible department and the dispatchers."""
    kind = NotificationKind.SLA_OVERDUE if level == "red" else NotificationKind.SLA_WARNING
    word = "已超期" if level == "red" else "即将超期"
    stage = case.get_stage_display() if case.stage else ""
    recipients = [*department_members(case.department_id), *dispatchers()]
    key = f"sla:{case.pk}:{case.stage}:{case.deadline.isoformat() if case.deadline else ''}:{level}"
    return notify(recipients, case, kind, f"案件 {case.number}{stage}环节{word}。", key)
