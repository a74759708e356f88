"""The one service that moves a case through its workflow.

`case_transition` checks the transition table, the actor's role and scope, validates the
action's input, updates the case only if it is still in the version that was read, appends
the CaseEvent in the same transaction and sends notifications after commit. A refused
action changes nothing and writes no event.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cityops.accounts import roles
from cityops.cases import fanout, notifications, sla
from cityops.cases.errors import CaseNotFound, Conflict, InvalidTransition, NotAllowed, ValidationFailed
from cityops.cases.models import AttachmentKind, Case, CaseEvent, Channel
from cityops.cases.permissions import cases_visible_to, in_scope_for_action, role_allows
from cityops.cases.services import attachment_add
from cityops.cases.states import (
    CITIZEN_TRANSITIONS,
    TRANSITIONS,
    Action,
    CallbackStatus,
    ReturnReason,
    ReviewStatus,
    Satisfaction,
    SatisfactionSource,
    Status,
    guard_refusal,
)
from cityops.catalog.models import CaseType, Category, Department, DepartmentKind, LimitUnit, Stage, Urgency


@dataclass
class Outcome:
    """What an action does: the new state, field updates and the event's payload."""

    to_status: Status
    fields: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)
    department: Department | None = None
    after_commit: list[Any] = field(default_factory=list)
    # Details of an audit-trail entry written in the same transaction (changes of a recorded result).
    audit: dict[str, Any] | None = None


# Actions that take photos (`data["photos"]`, uploaded files), and the kind they are stored as.
PHOTO_KINDS = {Action.RESPOND: AttachmentKind.AFTER, Action.VERIFY: AttachmentKind.VERIFY}
MAX_PHOTOS = 9
MAX_RATING_COMMENT = 500


def _text(data: dict[str, Any], key: str, label: str, *, required: bool) -> str:
    value = data.get(key)
    value = "" if value is None else str(value).strip()
    if required and not value:
        raise ValidationFailed(f"请填写{label}。", {key: "required"})
    if len(value) > 4000:
        raise ValidationFailed(f"{label}不能超过 4000 字。", {key: "too_long"})
    return value


def _bool(data: dict[str, Any], key: str, label: str) -> bool:
    value = data.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "1", "yes", "on", "pass", "passed"}:
        return True
    if isinstance(value, str) and value.lower() in {"false", "0", "no", "off", "fail", "failed"}:
        return False
    raise ValidationFailed(f"请选择{label}。", {key: "required"})


def _leaf_category(code: str) -> Category:
    category = Category.objects.filter(code=code, active=True).first()
    if category is None:
        raise ValidationFailed(f"分类编码 {code} 不存在或已停用。", {"category": "unknown"})
    if category.children.exists():
        raise ValidationFailed(f"请选择具体的小类，{category.name} 是大类。", {"category": "not_leaf"})
    return category


# ---------------------------------------------------------------- per-action rules


def _register(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    fields: dict[str, Any] = {"registered_at": now}
    category = case.category
    if data.get("category"):
        category = _leaf_category(str(data["category"]))
        fields["category_id"] = category.pk
    if category is None:
        raise ValidationFailed("立案前须选择案件分类。", {"category": "required"})
    if data.get("urgency"):
        if data["urgency"] not in Urgency.values:
            raise ValidationFailed("紧急程度无效。", {"urgency": "invalid"})
        fields["urgency"] = data["urgency"]
    if data.get("case_type"):
        if data["case_type"] not in CaseType.values:
            raise ValidationFailed("工单类型无效。", {"case_type": "invalid"})
        fields["case_type"] = data["case_type"]
    probe = Case(category=category, urgency=fields.get("urgency", case.urgency), case_type=fields.get("case_type", case.case_type))
    fields.update(sla.stage_fields(probe, Stage.DISPATCH, now))
    return Outcome(Status.REGISTERED, fields, {"category": category.code})


def _reject(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    _text(data, "note", "不予立案理由", required=True)
    return Outcome(Status.REJECTED, {"closed_at": now, **sla.clear_fields()})


def _answer(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    answer = _text(data, "answer", "答复内容", required=False) or _text(data, "note", "答复内容", required=True)
    return Outcome(Status.CLOSED, {"answer": answer, "closed_at": now, **sla.clear_fields(), **_closure_fields(case)})


def _merge_into(case: Case, data: dict[str, Any], now: datetime, actor) -> Outcome:
    number = _text(data, "master", "主案件编号", required=True)
    if number == case.number:
        raise ValidationFailed("不能合并到自身。", {"master": "self"})
    visible = cases_visible_to(actor) if actor else Case.objects.all()
    master = visible.filter(number=number).first()
    if master is None:
        raise ValidationFailed(f"主案件 {number} 不存在。", {"master": "unknown"})
    if master.status in (Status.CLOSED, Status.REJECTED):
        raise ValidationFailed("主案件已办结，不能合并。", {"master": "closed"})
    if master.master_id:
        raise ValidationFailed("主案件本身已被合并，请合并到其主案件。", {"master": "merged"})
    fields = {"master_id": master.pk, "closed_at": now, **sla.clear_fields(), **_closure_fields(case, merged=True)}
    return Outcome(Status.CLOSED, fields, {"master": master.number})


def _dispatch(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    code = _text(data, "department", "处置部门", required=True)
    department = Department.objects.filter(code=code, active=True).first()
    if department is None:
        raise ValidationFailed(f"部门编码 {code} 不存在或已停用。", {"department": "unknown"})
    if department.kind == DepartmentKind.CENTER:
        raise ValidationFailed("不能派遣给指挥中心自身。", {"department": "center"})
    if case.category_id is None:
        raise ValidationFailed("派遣前须选择案件分类。", {"category": "required"})
    fields: dict[str, Any] = {"department_id": department.pk, "dispatched_at": now, "extension_pending": False, "extension_request": None,
                              "return_request": None}
    fields.update(_dispatch_clock(case, now))
    payload = {"department": department.code, "route": data.get("route", "manual")}
    for key in ("proposal", "confidence", "rule"):
        if data.get(key) is not None:
            payload[key] = data[key]
    return Outcome(Status.DISPATCHED, fields, payload, department, [notifications.new_task])


def _dispatch_clock(case: Case, now: datetime) -> dict[str, Any]:
    fields = sla.stage_fields(case, Stage.SIGN, now)
    handle = sla.stage_limit(category_id=case.category_id, urgency=case.urgency, stage=Stage.HANDLE, case_type=case.case_type)
    fields["handle_deadline"] = sla.due(now, handle)
    fields["handle_unit"] = handle.unit
    return fields


def _sign(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    if case.handle_deadline and case.handle_unit:
        fields = sla.continue_stage_fields(case, Stage.HANDLE, case.handle_deadline, case.handle_unit, now)
    else:
        fields = sla.stage_fields(case, Stage.HANDLE, now)
    return Outcome(Status.IN_PROGRESS, fields, department=case.department)


def _return(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    """退单: a reason code, a reason text (always: the dispatcher must know why) and optionally a
    better department. With CITYOPS_RETURN_NEEDS_ACCEPTANCE (default) the case stays where it is,
    flagged return_pending, until the dispatcher accepts or rejects the return; the clock runs on."""
    reason = _text(data, "reason", "退单原因", required=True)
    if reason not in ReturnReason.values:
        raise ValidationFailed("退单原因无效。", {"reason": "invalid", "choices": ReturnReason.values})
    note = _text(data, "note", "退单说明（为什么不属于本单位或无法处置）", required=True)
    suggested = _suggested_department(case, data)
    department = case.department.code if case.department else None
    pending = bool(settings.CITYOPS_RETURN_NEEDS_ACCEPTANCE)
    request = {"reason": reason, "note": note, "suggested_department": suggested, "requested_at": now.isoformat(),
               "department": department}
    payload = {"reason": reason, "note": note, "suggested_department": suggested, "department": department,
               "pending": pending, "mis_dispatch": reason == ReturnReason.NOT_OUR_DUTY}
    # A department that gives the case back no longer asks for more time on it.
    fields: dict[str, Any] = {"return_request": request, "extension_pending": False, "extension_request": None}
    if pending:
        fields["return_pending"] = True
        return Outcome(Status(case.status), fields, payload, case.department, [notifications.return_requested])
    fields.update(_returned_fields(case, now))
    return Outcome(Status.RETURNED, fields, payload, case.department, [notifications.returned])


def _suggested_department(case: Case, data: dict[str, Any]) -> str | None:
    code = _text(data, "suggested_department", "建议部门", required=False)
    if not code:
        return None
    department = Department.objects.filter(code=code, active=True).first()
    if department is None:
        raise ValidationFailed(f"建议部门编码 {code} 不存在或已停用。", {"suggested_department": "unknown"})
    if department.kind == DepartmentKind.CENTER:
        raise ValidationFailed("建议部门不能是指挥中心。", {"suggested_department": "center"})
    if department.pk == case.department_id:
        raise ValidationFailed("建议部门不能是本单位。", {"suggested_department": "same"})
    return department.code


def _returned_fields(case: Case, now: datetime) -> dict[str, Any]:
    """The case back at the center for re-dispatch, its 派遣 clock starting now."""
    return {
        "department_id": None, "return_count": F("return_count") + 1, "handle_deadline": None, "return_pending": False,
        **sla.stage_fields(case, Stage.DISPATCH, now),
    }


def _accept_return(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    request = case.return_request or {}
    payload = {"department": case.department.code if case.department else request.get("department"),
               "reason": request.get("reason")}
    return Outcome(Status.RETURNED, _returned_fields(case, now), payload, case.department, [notifications.return_decided])


def _reject_return(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    """The case stays with the department, whose clock never stopped."""
    _text(data, "note", "驳回理由", required=True)
    fields = {"return_pending": False, "return_request": None}
    payload = {"department": case.department.code if case.department else None}
    return Outcome(Status(case.status), fields, payload, case.department, [notifications.return_decided])


def _extension_amount(data: dict[str, Any]) -> tuple[Decimal, str]:
    try:
        value = Decimal(str(data.get("value", "")))
    except InvalidOperation:
        raise ValidationFailed("请填写延期时长。", {"value": "invalid"}) from None
    if value <= 0 or value > 90:
        raise ValidationFailed("延期时长须大于 0 且不超过 90。", {"value": "out_of_range"})
    unit = data.get("unit") or LimitUnit.WORK_DAY
    if unit not in LimitUnit.values:
        raise ValidationFailed("延期时长单位无效。", {"unit": "invalid"})
    return value, unit


def _request_extension(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    if case.extension_pending:
        raise InvalidTransition("已有待审批的延期申请。")
    value, unit = _extension_amount(data)
    reason = _text(data, "note", "延期理由", required=True)
    request = {"value": str(value), "unit": unit, "reason": reason, "requested_at": now.isoformat()}
    # The clock keeps running while the dispatcher decides (see `sla.extend_fields`).
    fields = {"extension_pending": True, "extension_request": request}
    return Outcome(Status.IN_PROGRESS, fields, {"value": str(value), "unit": unit}, case.department, [notifications.extension_requested])


def _approve_extension(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    if not case.extension_pending or not case.extension_request:
        raise InvalidTransition("没有待审批的延期申请。")
    requested = case.extension_request
    value, unit = _extension_amount(data) if data.get("value") else (Decimal(requested["value"]), requested["unit"])
    extra = sla.extension_seconds(value, unit, case.stage_unit)
    requested_at = _requested_at(requested, now)
    fields = {"extension_pending": False, "extension_request": None, **sla.extend_fields(case, now, extra, requested_at)}
    new_deadline = fields.get("deadline")
    return Outcome(Status.IN_PROGRESS, fields, {"value": str(value), "unit": unit, "new_deadline": new_deadline.isoformat() if new_deadline else None}, case.department, [notifications.extension_decided])


def _deny_extension(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    if not case.extension_pending:
        raise InvalidTransition("没有待审批的延期申请。")
    _text(data, "note", "驳回理由", required=True)
    # The clock never stopped for the request, so a denial leaves it as it is (a clock paused
    # under the former rule restarts).
    fields = {"extension_pending": False, "extension_request": None, **sla.resume_fields(case, now)}
    return Outcome(Status.IN_PROGRESS, fields, {}, case.department, [notifications.extension_decided])


def _requested_at(request: dict[str, Any], now: datetime) -> datetime:
    try:
        return datetime.fromisoformat(request["requested_at"])
    except (KeyError, TypeError, ValueError):
        return now


def _suspend(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    _text(data, "note", "挂账理由", required=True)
    return Outcome(Status.SUSPENDED, sla.pause_fields(case, now), department=case.department)


def _resume(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    return Outcome(Status.IN_PROGRESS, sla.resume_fields(case, now), department=case.department)


def after_photo_required(case: Case) -> bool:
    """处置反馈 must carry an after-photo (处置后照片) when the case's category asks for one (every
    部件 by default: the photo is the evidence the object was repaired) or a grid inspector
    reported the case (the inspector compares it with the before-photo on site)."""
    return case.channel == Channel.INSPECTOR or bool(case.category is not None and case.category.requires_after_photo)


def _respond(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    result = _text(data, "result", "处置结果", required=True)
    if not data.get("photos") and after_photo_required(case):
        raise ValidationFailed(
            "该案件须随处置反馈上传处置后照片（部件类或网格员上报的案件），请拍照后再提交。", {"photos": "required"}
        )
    fields = {
        "result": result, "responded_at": now, "extension_pending": False, "extension_request": None,
        **sla.stage_fields(case, Stage.VERIFY, now),
    }
    return Outcome(Status.RESPONDED, fields, {"result": result}, case.department, [notifications.verify_task])


def _verify(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    passed = _bool(data, "passed", "核查结果")
    if passed:
        return Outcome(Status.CLOSED, {"closed_at": now, **sla.clear_fields(), **_closure_fields(case)}, {"passed": True}, case.department)
    _text(data, "note", "返工原因", required=True)
    fields = {"rework_count": F("rework_count") + 1, **sla.stage_fields(case, Stage.HANDLE, now)}
    fields["handle_deadline"] = fields["deadline"]
    fields["handle_unit"] = fields["stage_unit"]
    return Outcome(Status.IN_PROGRESS, fields, {"passed": False}, case.department, [notifications.rework])


# ---------------------------------------------------------------- satisfaction (one result per case)


def _closure_fields(case: Case, *, merged: bool = False) -> dict[str, Any]:
    """Where a case that reaches 结案 stands in the callback queue: a merged duplicate (its
    master is called back), a report without a phone and a reporter who asked not to be
    called need no callback."""
    if merged or case.master_id or not case.reporter_phone.strip() or case.no_callback:
        return {"callback_status": CallbackStatus.NOT_NEEDED}
    return {"callback_status": CallbackStatus.PENDING}


def _satisfaction(data: dict[str, Any]) -> str:
    value = _text(data, "satisfaction", "满意度", required=True)
    if value not in Satisfaction.values:
        raise ValidationFailed("满意度无效。", {"satisfaction": "invalid", "choices": Satisfaction.values})
    return value


def _callback(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    """The first completed callback fixes the case's result; an unsatisfied one waits for 复核."""
    satisfaction = _satisfaction(data)
    if data.get("reopen") and _bool(data, "reopen", "是否重办"):
        # 重办 is the dispatcher's decision in the 不满意复核 queue, no longer part of a callback.
        raise ValidationFailed("回访不能直接重办：不满意的案件会进入派遣员的不满意复核，由其决定重办。", {"reopen": "moved_to_review"})
    fields: dict[str, Any] = {
        "satisfaction": satisfaction, "satisfaction_at": now, "satisfaction_source": SatisfactionSource.CALLBACK,
        "callback_status": CallbackStatus.DONE,
    }
    if satisfaction == Satisfaction.UNSATISFIED:
        fields["review_status"] = ReviewStatus.PENDING
    return Outcome(Status.CLOSED, fields, {"satisfaction": satisfaction, "result": True})


def _callback_attempt(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    """未接通: counted; after CITYOPS_CALLBACK_MAX_ATTEMPTS the case leaves the queue as 无法联系."""
    attempt = case.callback_attempts + 1  # the version check makes this read-then-write safe
    final = attempt >= max(1, int(settings.CITYOPS_CALLBACK_MAX_ATTEMPTS))
    fields: dict[str, Any] = {"callback_attempts": attempt}
    if final:
        fields["callback_status"] = CallbackStatus.UNREACHABLE
    return Outcome(Status.CLOSED, fields, {"attempt": attempt, "final": final})


def _correct_satisfaction(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    """The leader's correction of a recorded result: a reason, an event and an audit entry.
    The time the result was fixed stays (the case stays in its period's figures)."""
    satisfaction = _satisfaction(data)
    reason = _text(data, "note", "更正理由", required=True)
    if satisfaction == case.satisfaction:
        raise ValidationFailed("更正后的满意度与当前结果相同。", {"satisfaction": "unchanged"})
    fields: dict[str, Any] = {"satisfaction": satisfaction}
    if satisfaction == Satisfaction.UNSATISFIED and not case.review_status:
        fields["review_status"] = ReviewStatus.PENDING
    elif satisfaction != Satisfaction.UNSATISFIED and case.review_status == ReviewStatus.PENDING and case.citizen_satisfaction != Satisfaction.UNSATISFIED:
        fields["review_status"] = ""  # the unsatisfied result was a mistake: nothing to review
    payload = {"satisfaction": satisfaction, "previous": case.satisfaction}
    return Outcome(Status.CLOSED, fields, payload, audit={**payload, "reason": reason})


def _rate(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    """The reporter's own rating (市民评价), kept as `citizen_satisfaction`. It becomes the case's
    one result (source "citizen") only if no callback fixed one before, so a staff result is
    never overwritten; a 不满意 opens the dispatcher's 不满意复核 unless the case was already
    reviewed. The comment is the event's note. It never reopens a case."""
    satisfaction = data.get("satisfaction")
    if satisfaction not in Satisfaction.values:
        raise ValidationFailed("请选择满意度。", {"satisfaction": "invalid", "choices": Satisfaction.values})
    if len(str(data.get("note") or "").strip()) > MAX_RATING_COMMENT:
        raise ValidationFailed(f"评价内容不能超过 {MAX_RATING_COMMENT} 字。", {"comment": "too_long"})
    fixes_result = not case.satisfaction
    fields: dict[str, Any] = {"citizen_satisfaction": satisfaction}
    if fixes_result:
        fields.update(satisfaction=satisfaction, satisfaction_at=now, satisfaction_source=SatisfactionSource.CITIZEN)
        if case.callback_status in (CallbackStatus.PENDING, CallbackStatus.UNREACHABLE):
            fields["callback_status"] = CallbackStatus.DONE  # the result exists: nobody needs to call
    if satisfaction == Satisfaction.UNSATISFIED and (fixes_result or not case.review_status):
        fields["review_status"] = ReviewStatus.PENDING
    return Outcome(Status.CLOSED, fields, {"satisfaction": satisfaction, "result": fixes_result})


def _review(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    _text(data, "note", "复核意见", required=True)
    return Outcome(Status.CLOSED, {"review_status": ReviewStatus.REVIEWED}, {"previous_satisfaction": case.satisfaction})


def _reopen(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    """重办: back to the last department with a fresh dispatch clock. The result is cleared so
    the re-closed case gets a fresh callback; the earlier one stays in the events."""
    _text(data, "note", "重办要求", required=True)
    fields: dict[str, Any] = {
        "closed_at": None, "dispatched_at": now, "extension_pending": False, "extension_request": None,
        "satisfaction": "", "satisfaction_at": None, "satisfaction_source": "",
        "callback_status": "", "callback_attempts": 0, "review_status": ReviewStatus.REOPENED,
        **_dispatch_clock(case, now),
    }
    department = case.department
    assert department is not None  # states._reopenable refuses a case without a department
    payload = {"previous_satisfaction": case.satisfaction, "department": department.code}
    return Outcome(Status.DISPATCHED, fields, payload, department, [notifications.new_task])


def _supervise(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    return Outcome(Status(case.status), {"supervised": True}, {}, case.department, [notifications.supervised])


def _urge(case: Case, data: dict[str, Any], now: datetime) -> Outcome:
    return Outcome(Status(case.status), {"urge_count": F("urge_count") + 1}, {}, case.department, [notifications.urged])


RULES = {
    Action.REGISTER: _register, Action.REJECT: _reject, Action.ANSWER: _answer, Action.DISPATCH: _dispatch,
    Action.SIGN: _sign, Action.RETURN: _return, Action.REQUEST_EXTENSION: _request_extension,
    Action.ACCEPT_RETURN: _accept_return, Action.REJECT_RETURN: _reject_return,
    Action.APPROVE_EXTENSION: _approve_extension, Action.DENY_EXTENSION: _deny_extension,
    Action.SUSPEND: _suspend, Action.RESUME: _resume, Action.RESPOND: _respond, Action.VERIFY: _verify,
    Action.CALLBACK: _callback, Action.SUPERVISE: _supervise, Action.URGE: _urge,
    Action.CALLBACK_ATTEMPT: _callback_attempt, Action.CORRECT_SATISFACTION: _correct_satisfaction,
    Action.REVIEW: _review, Action.REOPEN: _reopen, Action.RATE: _rate,
}


# ---------------------------------------------------------------- the service


def case_transition(
    *,
    case: Case,
    action: str,
    actor=None,
    data: dict[str, Any] | None = None,
    expected_version: int | None = None,
    system_label: str = "",
    now: datetime | None = None,
) -> Case:
    """Apply `action` to `case` as `actor` (or as the system when `system_label` is given).

    The case row is updated with `WHERE version = <read version>`: if someone acted in
    between, nothing is written and `Conflict` is raised. Returns the refreshed case.
    """
    data = dict(data or {})
    now = now or timezone.now()
    try:
        action = Action(action)
    except ValueError:
        raise InvalidTransition(f"未知的操作：{action}") from None
    transition = TRANSITIONS.get(action)
    if transition is None and actor is None and system_label:
        transition = CITIZEN_TRANSITIONS.get(action)  # the public page's rating, never a signed-in user's
    if transition is None:
        raise InvalidTransition(f"操作 {action.label} 不能由用户发起。")

    if actor is not None:
        if not cases_visible_to(actor).filter(pk=case.pk).exists():
            raise CaseNotFound("案件不存在。")
        if not role_allows(actor, transition):
            raise NotAllowed(f"您的角色无权执行“{action.label}”。")
        if not in_scope_for_action(actor, case, transition):
            raise NotAllowed(f"该案件不在您的处置范围内，无法“{action.label}”。")
    elif not system_label:
        raise NotAllowed("缺少操作人。")

    if expected_version is not None and int(expected_version) != case.version:
        raise Conflict("案件已被他人更新，请刷新后重试。", {"version": case.version})
    if case.status not in transition.sources:
        if transition.status_refusal:
            raise InvalidTransition(transition.status_refusal, {"status": case.status})
        raise InvalidTransition(
            f"案件当前状态为“{Status(case.status).label}”，不能“{action.label}”。",
            {"status": case.status, "action": action.value},
        )
    refusal = guard_refusal(case, action)
    if refusal:
        raise InvalidTransition(refusal, getattr(refusal, "details", None) or {"status": case.status, "action": action.value})

    photos = list(data.get("photos") or [])
    if photos and action not in PHOTO_KINDS:
        raise ValidationFailed(f"“{action.label}”不能上传照片。", {"photos": "not_accepted"})
    if len(photos) > MAX_PHOTOS:
        raise ValidationFailed(f"最多上传 {MAX_PHOTOS} 张照片。", {"photos": "too_many"})
    outcome = _merge_into(case, data, now, actor) if action == Action.MERGE else RULES[action](case, data, now)
    note = _text(data, "note", "说明", required=False)

    fields = dict(outcome.fields)
    fields["status"] = outcome.to_status
    fields["version"] = F("version") + 1
    with transaction.atomic():
        updated = Case.objects.filter(pk=case.pk, version=case.version, status=case.status).update(**fields)
        if updated != 1:
            raise Conflict("案件已被他人处理，请刷新后查看最新状态。")
        event = CaseEvent.objects.create(
            case=case,
            created_at=now,
            actor=actor,
            actor_label=system_label or (actor.display_name or actor.username),
            action=action,
            from_status=case.status,
            to_status=outcome.to_status,
            department=outcome.department,
            note=note,
            payload=outcome.payload,
        )
        # The action's photos belong to its event: a photo the upload check refuses rolls the whole
        # action back (all or nothing, like `intake.services.report_create`).
        for upload in photos:
            upload.seek(0)
            attachment_add(case=case, upload=upload, kind=PHOTO_KINDS[action], actor=actor, event=event,
                           keep_gps=bool(actor is not None and actor.has_role(roles.INSPECTOR)))
        if outcome.audit is not None:
            _audit(case, action, actor, system_label, outcome.audit)
        fresh = Case.objects.select_related("category", "department", "street", "community", "grid").get(pk=case.pk)
        for send in outcome.after_commit:
            transaction.on_commit(functools.partial(send, fresh, event))
        fanout.announce(fresh, event)
    return fresh


def _audit(case: Case, action: Action, actor, system_label: str, details: dict[str, Any]) -> None:
    """An audit-trail entry in the action's own transaction: both are written, or neither."""
    from cityops.audit.models import AuditAction
    from cityops.audit.services import audit_record

    # No audit action of its own yet (that needs a migration of audit.AuditEntry's choices):
    # a change of recorded data is filed with the configuration changes, "op" tells which.
    audit_record(
        action=AuditAction.CONFIG_CHANGE, actor=actor, actor_label=system_label, target=f"case:{case.number}",
        details={"op": action.value, **details},
    )
