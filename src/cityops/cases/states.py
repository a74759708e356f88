"""Case states, actions and the transition table (DESIGN.md "The case workflow").

The table is data: `workflow.case_transition` executes it, the UI offers exactly the
actions it allows, and the tests walk it exhaustively.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from cityops.accounts import roles


class Status(models.TextChoices):
    NEW = "new", "待受理"
    REGISTERED = "registered", "已立案"
    DISPATCHED = "dispatched", "已派遣"
    IN_PROGRESS = "in_progress", "处置中"
    RETURNED = "returned", "已退回"
    RESPONDED = "responded", "已反馈"
    SUSPENDED = "suspended", "挂账"
    CLOSED = "closed", "已结案"
    REJECTED = "rejected", "不予立案"


OPEN_STATUSES = frozenset(
    {Status.NEW, Status.REGISTERED, Status.DISPATCHED, Status.IN_PROGRESS, Status.RETURNED, Status.RESPONDED, Status.SUSPENDED}
)
FINAL_STATUSES = frozenset({Status.CLOSED, Status.REJECTED})


class Action(models.TextChoices):
    CREATE = "create", "上报"
    REGISTER = "register", "立案"
    REJECT = "reject", "不予立案"
    ANSWER = "answer", "直接答复"
    MERGE = "merge", "合并重复件"
    DISPATCH = "dispatch", "派遣"
    SIGN = "sign", "签收"
    RETURN = "return", "退单"
    REQUEST_EXTENSION = "request_extension", "申请延期"
    APPROVE_EXTENSION = "approve_extension", "批准延期"
    DENY_EXTENSION = "deny_extension", "驳回延期"
    SUSPEND = "suspend", "挂账"
    RESUME = "resume", "恢复处置"
    RESPOND = "respond", "处置反馈"
    VERIFY = "verify", "核查"
    CALLBACK = "callback", "回访"
    SUPERVISE = "supervise", "督办"
    URGE = "urge", "催办"
    # Satisfaction and its follow-up (one result per case, see docs/assessment.md).
    RATE = "rate", "市民评价"
    CALLBACK_ATTEMPT = "callback_attempt", "回访未接通"
    CORRECT_SATISFACTION = "correct_satisfaction", "更正满意度"
    REVIEW = "review", "不满意复核"
    REOPEN = "reopen", "重办"
    # A department's return waits for the dispatcher's decision (CITYOPS_RETURN_NEEDS_ACCEPTANCE).
    ACCEPT_RETURN = "accept_return", "同意退单"
    REJECT_RETURN = "reject_return", "驳回退单"
    # Events that are not user actions but belong on the timeline.
    SLA_WARNING = "sla_warning", "即将超期"
    SLA_OVERDUE = "sla_overdue", "已超期"


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", "满意"
    BASICALLY_SATISFIED = "basically_satisfied", "基本满意"
    UNSATISFIED = "unsatisfied", "不满意"


class CallbackStatus(models.TextChoices):
    """Where a closed case stands in the callback (回访) queue; blank while the case is open."""

    NOT_NEEDED = "not_needed", "无需回访"
    PENDING = "pending", "待回访"
    DONE = "done", "已回访"
    UNREACHABLE = "unreachable", "无法联系"


class SatisfactionSource(models.TextChoices):
    CALLBACK = "callback", "回访"
    CITIZEN = "citizen", "市民评价"


class ReviewStatus(models.TextChoices):
    """不满意复核: an unsatisfied result waits for the dispatcher's decision."""

    PENDING = "pending", "待复核"
    REVIEWED = "reviewed", "已复核"
    REOPENED = "reopened", "已重办"


class ReturnReason(models.TextChoices):
    NOT_OUR_DUTY = "not_our_duty", "非本单位职责"
    WRONG_LOCATION = "wrong_location", "地址不详或不在辖区"
    INSUFFICIENT_INFO = "insufficient_info", "信息不全无法处置"
    OTHER = "other", "其他"


SAME = None  # marker: the action keeps the state


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[Status]
    target: Status | None  # None: the state does not change (or depends on input, see workflow)
    roles: frozenset[str]
    # Which department-scope rule applies: "own_department" means the actor's department must
    # be the case's current department (department handlers).
    needs_own_department: bool = False
    # The refusal when the case is in none of `sources` ("" : the generic one naming the status).
    status_refusal: str = ""


class Refusal(str):
    """A guard's refusal (a message, so it reads and tests like one) with the details the
    refused request gets (default: the case's status and the action)."""

    details: dict | None = None

    def __new__(cls, message: str, details: dict | None = None) -> Refusal:
        refusal = super().__new__(cls, message)
        refusal.details = details
        return refusal


_OPEN_FOR_OVERSIGHT = frozenset(
    {Status.REGISTERED, Status.DISPATCHED, Status.IN_PROGRESS, Status.RETURNED, Status.RESPONDED, Status.SUSPENDED}
)

TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in [
        Transition(Action.REGISTER, frozenset({Status.NEW}), Status.REGISTERED, frozenset({roles.OPERATOR})),
        Transition(Action.REJECT, frozenset({Status.NEW}), Status.REJECTED, frozenset({roles.OPERATOR})),
        Transition(Action.ANSWER, frozenset({Status.NEW}), Status.CLOSED, frozenset({roles.OPERATOR})),
        Transition(Action.MERGE, frozenset({Status.NEW, Status.REGISTERED}), Status.CLOSED,
                   frozenset({roles.OPERATOR, roles.DISPATCHER})),
        Transition(Action.DISPATCH, frozenset({Status.REGISTERED, Status.RETURNED}), Status.DISPATCHED,
                   frozenset({roles.DISPATCHER})),
        Transition(Action.SIGN, frozenset({Status.DISPATCHED}), Status.IN_PROGRESS,
                   frozenset({roles.DEPARTMENT}), needs_own_department=True),
        # return: → returned at once, or (CITYOPS_RETURN_NEEDS_ACCEPTANCE) the state stays and the
        # case waits, flagged return_pending, for the dispatcher to accept (→ returned) or reject it.
        Transition(Action.RETURN, frozenset({Status.DISPATCHED, Status.IN_PROGRESS}), None,
                   frozenset({roles.DEPARTMENT}), needs_own_department=True),
        Transition(Action.ACCEPT_RETURN, frozenset({Status.DISPATCHED, Status.IN_PROGRESS}), Status.RETURNED,
                   frozenset({roles.DISPATCHER})),
        Transition(Action.REJECT_RETURN, frozenset({Status.DISPATCHED, Status.IN_PROGRESS}), SAME,
                   frozenset({roles.DISPATCHER})),
        Transition(Action.REQUEST_EXTENSION, frozenset({Status.IN_PROGRESS}), Status.IN_PROGRESS,
                   frozenset({roles.DEPARTMENT}), needs_own_department=True),
        Transition(Action.APPROVE_EXTENSION, frozenset({Status.IN_PROGRESS}), Status.IN_PROGRESS,
                   frozenset({roles.DISPATCHER})),
        Transition(Action.DENY_EXTENSION, frozenset({Status.IN_PROGRESS}), Status.IN_PROGRESS,
                   frozenset({roles.DISPATCHER})),
        Transition(Action.SUSPEND, frozenset({Status.IN_PROGRESS}), Status.SUSPENDED, frozenset({roles.DISPATCHER})),
        Transition(Action.RESUME, frozenset({Status.SUSPENDED}), Status.IN_PROGRESS, frozenset({roles.DISPATCHER})),
        Transition(Action.RESPOND, frozenset({Status.IN_PROGRESS}), Status.RESPONDED,
                   frozenset({roles.DEPARTMENT}), needs_own_department=True),
        # verify: pass → closed, fail (返工) → in_progress; the target is chosen from the input.
        Transition(Action.VERIFY, frozenset({Status.RESPONDED}), None, frozenset({roles.INSPECTOR, roles.DISPATCHER})),
        # Satisfaction (one result per case, see GUARDS): the operator's callback or its failed
        # attempt, the leader's correction, the dispatcher's 不满意复核 (review note or 重办).
        Transition(Action.CALLBACK, frozenset({Status.CLOSED}), Status.CLOSED, frozenset({roles.OPERATOR})),
        Transition(Action.CALLBACK_ATTEMPT, frozenset({Status.CLOSED}), Status.CLOSED, frozenset({roles.OPERATOR})),
        Transition(Action.CORRECT_SATISFACTION, frozenset({Status.CLOSED}), Status.CLOSED, frozenset({roles.LEADER})),
        Transition(Action.REVIEW, frozenset({Status.CLOSED}), Status.CLOSED, frozenset({roles.DISPATCHER})),
        Transition(Action.REOPEN, frozenset({Status.CLOSED}), Status.DISPATCHED, frozenset({roles.DISPATCHER})),
        Transition(Action.SUPERVISE, _OPEN_FOR_OVERSIGHT, SAME, frozenset({roles.LEADER, roles.DISPATCHER})),
        Transition(Action.URGE, _OPEN_FOR_OVERSIGHT, SAME, frozenset({roles.LEADER, roles.DISPATCHER})),
    ]
}

USER_ACTIONS = tuple(TRANSITIONS)

# Transitions nobody signed in takes: the reporter's own rating on the public tracking page
# (they hold the tracking code, not an account). Never offered on a desk or in the API's
# `act`; `workflow.case_transition` applies them only without an actor, under a system label.
CITIZEN_TRANSITIONS: dict[Action, Transition] = {
    Action.RATE: Transition(Action.RATE, frozenset({Status.CLOSED}), Status.CLOSED, frozenset(),
                            status_refusal="案件尚未办结，办结后才能评价。"),
}


# ---------------------------------------------------------------- guards
# Conditions on a case's fields beyond its status, without side effects (django-fsm's
# `conditions`): each returns why the action is not possible now, or "" when it is. The UI
# offers an action only when its guard passes; `workflow.case_transition` refuses it otherwise
# (409 invalid_transition).


def _callback_open(case) -> str:
    if case.satisfaction:
        return "该案件已有满意度结果，不能再次回访。"
    if case.callback_status != CallbackStatus.PENDING:
        label = CallbackStatus(case.callback_status).label if case.callback_status in CallbackStatus.values else "不在回访队列"
        return f"该案件无需回访（{label}）。"
    return ""


def _has_result(case) -> str:
    return "" if case.satisfaction else "该案件还没有满意度结果，无需更正。"


def _review_pending(case) -> str:
    return "" if case.review_status == ReviewStatus.PENDING else "该案件不在不满意复核队列中。"


def _reopenable(case) -> str:
    if case.review_status != ReviewStatus.PENDING:
        return "只有待复核的不满意案件可以重办。"
    if case.department_id is None or case.master_id:
        return "该案件没有处置部门（直接答复或合并件），不能重办，请填写复核意见。"
    return ""


def _no_return_pending(case) -> str:
    return "该案件的退单申请正待派遣员审核，审核前不能办理。" if case.return_pending else ""


def _return_pending(case) -> str:
    return "" if case.return_pending else "该案件没有待审核的退单申请。"


def _citizen_may_rate(case) -> str:
    """Once per case, and a merged duplicate is rated on its master. A staff callback does not
    stop the citizen: their rating is kept apart (`citizen_satisfaction`)."""
    if case.citizen_satisfaction:
        return Refusal("您已评价过该案件，不能重复评价。", {"satisfaction": "already_rated"})
    if case.master_id is not None:
        return Refusal("该反映已与其他反映合并办理，无需单独评价。", {"master": "merged"})
    return ""


GUARDS = {
    # While its return waits for the dispatcher, the department can only see the case.
    Action.SIGN: _no_return_pending,
    Action.RETURN: _no_return_pending,
    Action.REQUEST_EXTENSION: _no_return_pending,
    Action.RESPOND: _no_return_pending,
    Action.SUSPEND: _no_return_pending,
    Action.ACCEPT_RETURN: _return_pending,
    Action.REJECT_RETURN: _return_pending,
    Action.CALLBACK: _callback_open,
    Action.CALLBACK_ATTEMPT: _callback_open,
    Action.CORRECT_SATISFACTION: _has_result,
    Action.REVIEW: _review_pending,
    Action.REOPEN: _reopenable,
    Action.RATE: _citizen_may_rate,
}


def guard_refusal(case, action: Action) -> str:
    """Why `action` cannot be taken on `case` now (its status aside), or "" if it can."""
    guard = GUARDS.get(action)
    return guard(case) if guard is not None else ""
