"""The department's desk on a phone (部门处置 · 手机): sign for a case, report the result with
photos from the camera, return it with a reason, ask for more time.

The forms are the desk's own (`desks.forms.ACTION_FORMS`) and every change goes through
`cases.workflow.case_transition`, so the rules and their Chinese messages are the desk's."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from cityops.cases.errors import CaseError, CaseNotFound, Conflict, NotAllowed
from cityops.cases.models import AttachmentKind, Case
from cityops.cases.permissions import available_actions
from cityops.cases.services import max_upload_bytes
from cityops.cases.states import Action, Status
from cityops.cases.workflow import case_transition
from cityops.desks.forms import ACTION_FORMS, ActionForm
from cityops.intake.desk_selectors import department_tasks, is_department_user

# The department's steps, in the order the page offers them (the first available one is open).
DESK_ACTIONS = (Action.SIGN, Action.RESPOND, Action.REQUEST_EXTENSION, Action.RETURN)
TABS = {"sign": (Status.DISPATCHED,), "handling": (Status.IN_PROGRESS,)}
ERROR_STATUS = {Conflict: 409, NotAllowed: 403, CaseNotFound: 404}
FORBIDDEN = "此页面仅供部门处置人员使用，且账号须关联处置部门。如需开通，请联系系统管理员。"


def department_required(view):
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_department_user(request.user):
            return render(request, "intake/m/forbidden.html", {"message": FORBIDDEN}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _case_or_404(request: HttpRequest, number: str) -> Case:
    # Another department's case (or one that has moved on) is a 404: its existence stays unknown.
    case = department_tasks(request.user).filter(number=number).first()
    if case is None:
        raise Http404("案件不存在或已不在本部门待办中。")
    return case


def _counts(user) -> dict[str, int]:
    return {tab: department_tasks(user, statuses).count() for tab, statuses in TABS.items()}


@department_required
@require_GET
def desk(request: HttpRequest) -> HttpResponse:
    """待签收 / 处置中 lists of the department, most urgent first."""
    counts = _counts(request.user)
    tab = request.GET.get("tab")
    if tab not in TABS:
        tab = "sign" if counts["sign"] or not counts["handling"] else "handling"
    tasks = list(department_tasks(request.user, TABS[tab])[:100])
    return render(request, "intake/m/dept_desk.html", {"tasks": tasks, "tab": tab, "counts": counts})


def _mobile_form(form: ActionForm) -> ActionForm:
    """The desk form, made for a thumb: photo inputs open the camera or the album."""
    if "photos" in form.fields:
        form.fields["photos"].widget.attrs.update({"accept": "image/*", "data-photo-input": ""})
    return form


def _task_page(request: HttpRequest, case: Case, *, bound: ActionForm | None = None, error: str = "",
               status: int = 200) -> HttpResponse:
    allowed = [a for a in DESK_ACTIONS if a in available_actions(request.user, case)]
    forms = []
    for action in allowed:
        form = bound if bound is not None and bound.action == action else ACTION_FORMS[action](case=case)
        forms.append({"action": action, "form": _mobile_form(form), "open": form is bound})
    if forms and not any(f["open"] for f in forms) and forms[0]["action"] != Action.SIGN:
        forms[0]["open"] = True
    photos = [
        {"url": a.public_file.url if a.public_file else a.file.url, "label": a.get_kind_display()}
        for a in case.attachments.filter(kind__in=[AttachmentKind.BEFORE, AttachmentKind.AFTER]).order_by("created_at", "id")
    ]
    context = {
        "case": case, "forms": forms, "photos": photos, "error": error, "counts": _counts(request.user),
        "tab": "sign" if case.status == Status.DISPATCHED else "handling",
        "photo_hint": f"可多张，单张最大 {max_upload_bytes() // 1048576} MB。",
    }
    return render(request, "intake/m/dept_task.html", context, status=status)


@department_required
@require_GET
def task(request: HttpRequest, number: str) -> HttpResponse:
    return _task_page(request, _case_or_404(request, number))


def _place_error(form: ActionForm, exc: CaseError) -> bool:
    """Show a service error under the field it is about; False if it concerns the whole form."""
    details = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for key in details:
        if key in form.fields and key != "version":
            form.add_error(key, exc.message)
            placed = True
    return placed


@department_required
@require_POST
def act(request: HttpRequest, number: str, action: str) -> HttpResponse:
    try:
        action_value = Action(action)
    except ValueError:
        raise Http404("未知的操作。") from None
    if action_value not in DESK_ACTIONS:
        raise Http404("未知的操作。")
    case = _case_or_404(request, number)
    form = ACTION_FORMS[action_value](request.POST, request.FILES, case=case)
    if not form.is_valid():
        error = "表单已失效，请刷新页面后重试。" if form.errors.get("version") else ""
        return _task_page(request, case, bound=form, error=error, status=400)
    try:
        # The photos travel with the action: the service stores them with its event, all or nothing.
        fresh = case_transition(
            case=case, action=action_value, actor=request.user,
            data={**form.transition_data(), "photos": form.uploaded_photos()},
            expected_version=form.cleaned_data["version"],
        )
    except CaseError as exc:
        placed = _place_error(form, exc)
        return _task_page(request, case, bound=form, error="" if placed else exc.message,
                          status=ERROR_STATUS.get(type(exc), 400))
    messages.success(request, f"已{action_value.label}：{fresh.number}（当前状态：{fresh.get_status_display()}）")
    if fresh.status == Status.IN_PROGRESS and action_value == Action.SIGN:
        return redirect("intake:dept_task", number=fresh.number)  # signed: the handling forms come next
    return redirect(f"{reverse('intake:dept_desk')}?tab={'sign' if case.status == Status.DISPATCHED else 'handling'}")
