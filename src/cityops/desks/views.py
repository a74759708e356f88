"""Role desks, case list, case detail with its action forms, and notifications.

Views stay thin: parse with a form, call `services` / `workflow.case_transition`, read through
`selectors` (every read starts from `permissions.cases_visible_to(user)`), render. Each page
branches once on `htmx_partial(request)` to return only the fragment htmx asked for
(STYLE.md §3.5).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from cityops.accounts import roles
from cityops.cases.errors import CaseError, CaseNotFound, Conflict, InvalidTransition, NotAllowed
from cityops.cases.models import Attachment, AttachmentKind, Case, Notification
from cityops.cases.permissions import available_actions
from cityops.cases.selectors import (
    CaseFilters,
    after_photos,
    case_events,
    case_get,
    case_list,
    count_capped,
    reporter_view,
    return_details,
    rework_details,
    satisfaction_events,
)
from cityops.cases.services import case_create, case_create_registered
from cityops.cases.states import (
    OPEN_STATUSES,
    TRANSITIONS,
    Action,
    CallbackStatus,
    ReviewStatus,
    Satisfaction,
    Status,
    guard_refusal,
)
from cityops.cases.workflow import case_transition
from cityops.desks import presenters
from cityops.desks.forms import ACTION_FORMS, CaseFilterForm, IntakeForm
from cityops.routing.selectors import duplicate_candidates

logger = logging.getLogger(__name__)

PAGE_SIZE = 20
CASES_CHANGED = "cases-changed"  # htmx event: every desk region and detail body reloads on it
CASE_ROLES = (roles.OPERATOR, roles.DISPATCHER, roles.DEPARTMENT, roles.INSPECTOR, roles.LEADER)
MAP_PICKER_TEMPLATE = "intake/_map_picker.html"


# ---------------------------------------------------------------- helpers


def htmx_partial(request: HttpRequest) -> bool:
    """True when htmx asked for a fragment (not a boosted full-page navigation)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def htmx_target(request: HttpRequest) -> str:
    return (request.htmx.target or "") if htmx_partial(request) else ""


def forbidden(request: HttpRequest, message: str = "") -> HttpResponse:
    return render(request, "cases/403.html", {"message": message}, status=403)


def role_required(*codes: str) -> Callable:
    """login_required + the user holds one of `codes` (or is a superuser); others get the 403 page."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            user = request.user
            if not (user.is_superuser or user.has_role(*codes)):
                return forbidden(request)
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


def _safe_next(request: HttpRequest, candidate: str | None) -> str | None:
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return candidate
    return None


def _querystring(request: HttpRequest, drop: tuple[str, ...] = ("page",)) -> str:
    params = request.GET.copy()
    for key in drop:
        params.pop(key, None)
    return params.urlencode()


class CappedPaginator(Paginator):
    """Counts at most LIST_COUNT_CAP rows; `capped` tells the template to say "more than"."""

    capped = False

    @cached_property
    def count(self) -> int:
        n, self.capped = count_capped(self.object_list)
        return n


def _page(request: HttpRequest, qs, size: int = PAGE_SIZE):
    return CappedPaginator(qs, size).get_page(request.GET.get("page"))


def _by_deadline(qs: QuerySet[Case]) -> QuerySet[Case]:
    """Work queues: most urgent clock first, then oldest."""
    return qs.order_by(F("deadline").asc(nulls_last=True), "created_at", "id")


def _scoped(user, **filters) -> QuerySet[Case]:
    return case_list(user=user, filters=CaseFilters(**filters))


def _map_picker_available() -> bool:
    try:
        get_template(MAP_PICKER_TEMPLATE)
    except TemplateDoesNotExist:
        return False
    return True


def _geojson_url() -> str:
    """The district/street GeoJSON served by the intake app's map endpoint (empty if not installed)."""
    try:
        return reverse("intake:regions_geojson") + "?level=district,street"
    except NoReverseMatch:
        return ""


# ---------------------------------------------------------------- shared list


def _filtered_list(request: HttpRequest, *, hide: tuple[str, ...] = (), base: dict | None = None) -> dict[str, Any]:
    """Context of the shared list (filters + `_table.html`) for the GET parameters of `request`."""
    form = CaseFilterForm(request.GET or None, hide=hide)
    filters = form.to_filters() if form.is_bound else CaseFilters()
    for key, value in (base or {}).items():
        setattr(filters, key, value)
    error = "；".join(str(e) for errors in form.errors.values() for e in errors) if form.is_bound else ""
    try:
        qs = case_list(user=request.user, filters=filters)
        page = _page(request, qs)
    except CaseError as exc:
        error = exc.message
        page = _page(request, Case.objects.none())
    return {"filter_form": form, "page_obj": page, "list_error": error, "querystring": _querystring(request)}


@role_required(*CASE_ROLES)
@require_GET
def case_list_view(request: HttpRequest) -> HttpResponse:
    ctx = _filtered_list(request)
    ctx["now"] = timezone.now()
    ctx["export_links"] = True  # Excel / CSV / GeoJSON downloads of the filtered list (intake:case_export)
    if htmx_target(request) == "case-table":
        return render(request, "cases/_table.html", ctx)
    return render(request, "cases/list.html", ctx)


# ---------------------------------------------------------------- desks


@dataclass
class Tab:
    key: str
    label: str
    template: str
    count: Callable[[], int] | None = None
    build: Callable[[], dict[str, Any]] = field(default=dict)


def _render_desk(request: HttpRequest, *, page_template: str, title: str, tabs: list[Tab], extra: dict | None = None) -> HttpResponse:
    """A desk page: tabs (with counts) over one panel; htmx reloads the region or only the list table."""
    keys = [t.key for t in tabs]
    current_key = request.GET.get("tab") if request.GET.get("tab") in keys else keys[0]
    current = next(t for t in tabs if t.key == current_key)
    ctx: dict[str, Any] = {
        "title": title, "tabs": [{"key": t.key, "label": t.label, "count": t.count() if t.count else None} for t in tabs],
        "tab": current_key, "panel_template": current.template, "now": timezone.now(),
        "region_url": f"{request.path}?{request.GET.urlencode()}" if request.GET else f"{request.path}?tab={current_key}",
        "querystring": _querystring(request), "next": request.get_full_path(),
    }
    ctx.update(current.build())
    ctx.update(extra or {})
    target = htmx_target(request)
    if target == "case-table":
        return render(request, "cases/_table.html", ctx)
    if target == "desk-region":
        return render(request, "cases/_desk_region.html", ctx)
    return render(request, page_template, ctx)


def _queue(request: HttpRequest, qs: QuerySet[Case], actions: tuple[Action, ...], *, proposals: bool = False) -> dict[str, Any]:
    page = _page(request, _by_deadline(qs))
    rows = []
    user = request.user
    for case in page.object_list:
        mine = available_actions(user, case)
        row = {"case": case, "actions": [a for a in actions if a in mine]}
        if proposals:
            row["proposal"] = presenters.dispatch_proposal(case)
        rows.append(row)
    # Why a case came back: the department's return (reason, note, suggested department) or the
    # failed 核查 (返工: the reason and the inspector's photo).
    returns, reworks = return_details(page.object_list), rework_details(page.object_list)
    for row in rows:
        row["return"] = returns.get(row["case"].pk)
        row["rework"] = reworks.get(row["case"].pk)
    if proposals:
        routing = _routing_proposals(page.object_list)
        for row in rows:
            row["routing"] = routing.get(row["case"].pk)
    return {"page_obj": page, "rows": rows}


def _routing_proposals(cases) -> dict[int, Any]:
    """The smart router's top-3 with confidence and the matrix rule, per case pk (empty without a model)."""
    from cityops.routing.services import proposals_for

    return proposals_for(list(cases))


# --- operator


@role_required(roles.OPERATOR)
@require_http_methods(["GET", "POST"])
def desk_operator(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = IntakeForm(request.POST or None, user=user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            from cityops.geo.lookup import GeoLookupError

            try:
                if request.POST.get("and_register"):  # 受理并立案: the seat already chose the category
                    case = case_create_registered(data=form.to_input(), actor=user)
                else:
                    case = case_create(data=form.to_input(), actor=user)
            except CaseError as exc:
                _form_errors(form, exc)
                status = 400
            except GeoLookupError as exc:  # e.g. no district boundary loaded yet
                form.location_error = f"无法定位：{exc}"
                status = 400
            else:
                return redirect(f"{reverse('cases:desk_operator')}?created={case.number}")
        else:
            status = 400

    created = None
    duplicates: list[dict[str, Any]] = []
    number = request.GET.get("created")
    if number:
        try:
            created = case_get(user=user, number=number)
        except CaseNotFound:
            created = None
        if created is not None and created.status == Status.NEW:
            duplicates = duplicate_candidates(
                lon=created.lon, lat=created.lat, description=created.description, exclude_pk=created.pk,
            )
    new_qs = _scoped(user, status=[Status.NEW])
    callback_qs = _callback_queue_qs(user)
    tabs = [
        Tab("new", "待受理", "cases/_queue.html", new_qs.count,
            lambda: {**_queue(request, new_qs, (Action.REGISTER, Action.REJECT, Action.ANSWER, Action.MERGE)),
                     "empty": "没有待受理的案件。", "hide_department": True}),
        Tab("callback", "待回访", "cases/_queue_callback.html", callback_qs.count,
            lambda: _callback_queue(request, callback_qs)),
    ]
    if htmx_target(request) in ("desk-region", "case-table"):
        return _render_desk(request, page_template="cases/desk_operator.html", title="受理台", tabs=tabs)
    response = _render_desk(
        request, page_template="cases/desk_operator.html", title="受理台", tabs=tabs,
        extra={"intake_form": form, "created": created, "duplicates": duplicates,
               "map_picker": _map_picker_available(),
               "routing": _routing_proposals([created]).get(created.pk) if created is not None else None},
    )
    response.status_code = status
    return response


def _form_errors(form, exc: CaseError) -> None:
    """Put a service's ValidationFailed details on the form fields they name (the rest on the form)."""
    details = exc.details if isinstance(exc.details, dict) else {}
    placed = False
    for key, text in details.items():
        if not isinstance(text, str) or len(text) <= 2:
            continue  # a bare code such as "required", not a message
        if re.fullmatch(r"[a-z_]+", text):
            text = exc.message  # a machine code ("not_allowed"): the service's message names the problem
        if key == "location":
            form.location_error = text  # shown under the map
            placed = True
        elif key in form.fields:
            form.add_error(key, text)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


@role_required(roles.OPERATOR)
@require_GET
def suggest_categories(request: HttpRequest) -> HttpResponse:
    """Top category suggestions for the typed description (htmx fragment of the intake form)."""
    from cityops.catalog.selectors import suggest_categories as suggest

    text = (request.GET.get("description") or "").strip()[:2000]
    try:
        suggestions = suggest(text, limit=5) if len(text) >= 2 else []
    except Exception:  # an index still being built must not break typing
        logger.exception("category suggestion failed")
        suggestions = []
    from cityops.routing.services import text_suggestions

    predictions = text_suggestions(text) if len(text) >= 2 else []
    return render(request, "cases/_suggestions.html", {"suggestions": suggestions, "text": text, "predictions": predictions})


# --- callback (回访) and 不满意复核


def _callback_queue_qs(user) -> QuerySet[Case]:
    """Closed cases waiting for a callback: no result yet, not unreachable, a reporter to call
    (cases without a phone, merged duplicates and "不需要回访" never enter: `workflow._closure_fields`)."""
    return _scoped(user, status=[Status.CLOSED]).filter(callback_status=CallbackStatus.PENDING, satisfaction="")


def _callback_queue(request: HttpRequest, qs: QuerySet[Case]) -> dict[str, Any]:
    """Each row has what the seat needs for the call: the phone (revealed, and so recorded in
    the audit trail: calling is the seat's job), the handling result and the after-photo."""
    from cityops.cases.privacy import reporter_reveal

    page = _page(request, qs.order_by("closed_at", "id"))
    cases = list(page.object_list)
    photos = after_photos(cases)
    rows = []
    for case in cases:
        try:
            reporter = reporter_reveal(case=case, user=request.user, request=request, via="callback_desk")
        except NotAllowed:
            reporter = reporter_view(case, request.user)
        rows.append({"case": case, "reporter": reporter, "photo": photos.get(case.pk),
                     "actions": available_actions(request.user, case)})
    return {"page_obj": page, "rows": rows, "satisfaction_choices": Satisfaction.choices,
            "max_attempts": settings.CITYOPS_CALLBACK_MAX_ATTEMPTS, "empty": "没有待回访的案件。"}


def _review_queue_qs(user) -> QuerySet[Case]:
    return _scoped(user, status=[Status.CLOSED]).filter(review_status=ReviewStatus.PENDING)


def _review_queue(request: HttpRequest, qs: QuerySet[Case]) -> dict[str, Any]:
    page = _page(request, qs.order_by("satisfaction_at", "closed_at", "id"))
    cases = list(page.object_list)
    ratings = satisfaction_events(cases)
    rows = [{"case": case, "rating": ratings.get(case.pk), "actions": available_actions(request.user, case)} for case in cases]
    return {"page_obj": page, "rows": rows, "empty": "没有待复核的不满意案件。"}


# --- dispatcher


def _overdue_qs(user, now) -> QuerySet[Case]:
    return _scoped(user, status=sorted(OPEN_STATUSES)).needs_attention(now)


def _board(request: HttpRequest, actions: tuple[Action, ...]) -> dict[str, Any]:
    now = timezone.now()
    cases = list(_overdue_qs(request.user, now).order_by("deadline")[:500])
    groups = presenters.overdue_board(cases, now)
    user = request.user
    for group in groups:
        group["rows"] = [
            {"case": case, "sla": view, "actions": [a for a in actions if a in available_actions(user, case)]}
            for case, view in group["rows"]
        ]
    return {"groups": groups, "board_total": sum(len(g["rows"]) for g in groups)}


@role_required(roles.DISPATCHER)
@require_GET
def desk_dispatcher(request: HttpRequest) -> HttpResponse:
    user = request.user
    now = timezone.now()
    to_dispatch = _scoped(user, status=[Status.REGISTERED, Status.RETURNED])
    extension = _scoped(user, status=[Status.IN_PROGRESS]).filter(extension_pending=True)
    suspended = _scoped(user, status=[Status.SUSPENDED])
    verify = _scoped(user, status=[Status.RESPONDED])
    review = _review_queue_qs(user)
    returns = _scoped(user, status=[Status.DISPATCHED, Status.IN_PROGRESS]).filter(return_pending=True)
    tabs = [
        Tab("dispatch", "待派遣", "cases/_queue_dispatch.html", to_dispatch.count,
            lambda: {**_queue(request, to_dispatch, (Action.DISPATCH, Action.MERGE), proposals=True),
                     "empty": "没有待派遣的案件。"}),
        Tab("returns", "退单审核", "cases/_queue.html", returns.count,
            lambda: {**_queue(request, returns, (Action.ACCEPT_RETURN, Action.REJECT_RETURN)),
                     "empty": "没有待审核的退单申请。"}),
        Tab("extension", "延期审批", "cases/_queue.html", extension.count,
            lambda: {**_queue(request, extension, (Action.APPROVE_EXTENSION, Action.DENY_EXTENSION)),
                     "empty": "没有待审批的延期申请。", "show_extension": True}),
        Tab("suspended", "挂账", "cases/_queue.html", suspended.count,
            lambda: {**_queue(request, suspended, (Action.RESUME, Action.URGE)), "empty": "没有挂账案件。"}),
        Tab("verify", "待核查", "cases/_queue.html", verify.count,
            lambda: {**_queue(request, verify, (Action.VERIFY,)), "empty": "没有待核查的案件。", "show_result": True}),
        Tab("review", "不满意复核", "cases/_queue_review.html", review.count, lambda: _review_queue(request, review)),
        Tab("overdue", "超期看板", "cases/_board.html", lambda: _overdue_qs(user, now).count(),
            lambda: _board(request, (Action.URGE, Action.SUPERVISE))),
    ]
    return _render_desk(request, page_template="cases/desk.html", title="派遣台", tabs=tabs)


# --- department


@role_required(roles.DEPARTMENT)
@require_GET
def desk_department(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.department_id and not user.is_superuser:
        return forbidden(request, "您的账号未关联处置部门，请联系系统管理员。")
    department = user.department
    mine = {"department": department.code} if department else {}
    to_sign = _scoped(user, status=[Status.DISPATCHED], **mine)
    handling = _scoped(user, status=[Status.IN_PROGRESS], **mine)
    tabs = [
        Tab("sign", "待签收", "cases/_queue.html", to_sign.count,
            lambda: {**_queue(request, to_sign, (Action.SIGN, Action.RETURN)), "empty": "没有待签收的案件。",
                     "hide_department": True}),
        Tab("handling", "处置中", "cases/_queue.html", handling.count,
            lambda: {**_queue(request, handling, (Action.RESPOND, Action.REQUEST_EXTENSION, Action.RETURN)),
                     "empty": "没有处置中的案件。", "show_extension": True, "hide_department": True}),
        Tab("all", "本部门案件", "cases/_case_list.html", None,
            lambda: _filtered_list(request, hide=("department",), base=mine)),
    ]
    return _render_desk(request, page_template="cases/desk.html", title=f"处置台 · {department or ''}", tabs=tabs)


# --- leader


@role_required(roles.LEADER)
@require_GET
def desk_leader(request: HttpRequest) -> HttpResponse:
    user = request.user
    now = timezone.now()
    supervised = _scoped(user, status=sorted(OPEN_STATUSES)).filter(supervised=True)
    tabs = [
        Tab("all", "全部案件", "cases/_case_list.html", None, lambda: _filtered_list(request)),
        Tab("supervised", "督办件", "cases/_queue.html", supervised.count,
            lambda: {**_queue(request, supervised, (Action.URGE,)), "empty": "没有督办中的案件。"}),
        Tab("overdue", "超期预警", "cases/_board.html", lambda: _overdue_qs(user, now).count(),
            lambda: _board(request, (Action.SUPERVISE, Action.URGE))),
    ]
    return _render_desk(request, page_template="cases/desk.html", title="指挥长视图", tabs=tabs)


# ---------------------------------------------------------------- detail


def _detail_context(request: HttpRequest, case: Case, forms_by_action: dict | None = None) -> dict[str, Any]:
    user = request.user
    now = timezone.now()
    # The step that moves the case on comes first (and open); oversight and side actions after it.
    actions = sorted(available_actions(user, case), key=lambda a: a not in PRIMARY_ACTIONS)
    forms = []
    for index, action in enumerate(actions):
        form = (forms_by_action or {}).get(action) or ACTION_FORMS[action](case=case, initial=_initial_for(case, action))
        forms.append({"action": action, "form": form, "open": index == 0 and action in PRIMARY_ACTIONS})
    attachments = list(case.attachments.all())
    center = presenters.is_center_user(user)
    merged = list(case_list(user=user).filter(master=case)[:20])
    return {
        "case": case,
        "now": now,
        "sla": presenters.sla_view(case, now),
        "reporter": reporter_view(case, user),
        "events": presenters.event_views(case_events(case=case).prefetch_related("attachments"), user),
        "action_forms": forms,
        "category_hints": (
            presenters.register_suggestions(case) if Action.REGISTER in actions and case.category_id is None else []
        ),
        "photos": [
            {"attachment": a, "kind": AttachmentKind(a.kind).label if a.kind in AttachmentKind.values else a.kind}
            for a in attachments
        ],
        "show_originals": center,
        "merged_cases": merged,
        "geojson_url": _geojson_url(),
        "next": reverse("cases:detail", args=[case.number]),
        "slot": "",
    }


def _initial_for(case: Case, action: Action) -> dict[str, Any]:
    if action == Action.DISPATCH:
        proposal = presenters.dispatch_proposal(case)
        if proposal.department is not None:
            return {"department": proposal.department.code, "proposal": proposal.department.code}
    return {}


@login_required
@require_GET
def case_detail(request: HttpRequest, number: str) -> HttpResponse:
    try:
        case = case_get(user=request.user, number=number)
    except CaseNotFound:
        raise Http404("案件不存在。") from None
    ctx = _detail_context(request, case)
    if htmx_target(request) == "case-detail":
        return render(request, "cases/_detail_body.html", ctx)
    return render(request, "cases/detail.html", ctx)


@login_required
@require_POST
def reporter_reveal_view(request: HttpRequest, number: str) -> HttpResponse:
    """Show the reporter's full name and phone: a recorded action for roles allowed to."""
    from cityops.cases.privacy import reporter_reveal

    try:
        case = case_get(user=request.user, number=number)
    except CaseNotFound:
        raise Http404("案件不存在。") from None
    try:
        reporter = reporter_reveal(case=case, user=request.user, request=request)
    except NotAllowed as exc:
        return forbidden(request, exc.message)
    if htmx_partial(request):
        return render(request, "cases/_reporter.html", {"case": case, "reporter": reporter})
    ctx = _detail_context(request, case)
    ctx["reporter"] = reporter
    return render(request, "cases/detail.html", ctx)


@login_required
@require_GET
def attachment_file(request: HttpRequest, number: str, pk: int) -> FileResponse:
    """A photo of a case the user may see: the public copy, or the original for the command center."""
    try:
        case = case_get(user=request.user, number=number)
    except CaseNotFound:
        raise Http404("案件不存在。") from None
    attachment = get_object_or_404(Attachment, pk=pk, case=case)
    want_original = request.GET.get("original") == "1"
    if want_original and not presenters.is_center_user(request.user):
        raise Http404("无权查看原图。")
    stored = attachment.file if want_original or not attachment.public_file else attachment.public_file
    if not want_original and not attachment.public_file:
        raise Http404("没有公开图片。")
    response = FileResponse(stored.open("rb"), content_type=attachment.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- actions


PRIMARY_ACTIONS = frozenset({
    Action.REGISTER, Action.DISPATCH, Action.SIGN, Action.RESPOND, Action.VERIFY, Action.CALLBACK,
    Action.APPROVE_EXTENSION, Action.RESUME,
})
ERROR_STATUS = {Conflict: 409, InvalidTransition: 409, NotAllowed: 403, CaseNotFound: 404}


def _action_or_404(action: str) -> Action:
    try:
        value = Action(action)
    except ValueError:
        raise Http404("未知的操作。") from None
    if value not in ACTION_FORMS:
        raise Http404("未知的操作。")
    return value


@login_required
@require_http_methods(["GET", "POST"])
def case_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """GET: the small form of one action (fragment for htmx, page otherwise). POST: run it."""
    action_value = _action_or_404(action)
    try:
        case = case_get(user=request.user, number=number)
    except CaseNotFound:
        raise Http404("案件不存在。") from None
    form_class = ACTION_FORMS[action_value]
    slot = request.POST.get("slot") or request.GET.get("slot") or ""
    nxt = _safe_next(request, request.POST.get("next") or request.GET.get("next")) or (
        _safe_next(request, request.headers.get("HX-Current-URL")) if htmx_partial(request) else None
    )
    ctx = {"case": case, "action": action_value, "slot": slot, "next": nxt or "", "now": timezone.now()}

    if request.method == "GET":
        if action_value not in available_actions(request.user, case):
            refusal = guard_refusal(case, action_value) if case.status in TRANSITIONS[action_value].sources else ""
            ctx["error"] = refusal or f"您当前不能对该案件执行“{action_value.label}”。"
            ctx["form"] = None
        else:
            ctx["form"] = form_class(case=case, initial=_initial_for(case, action_value))
            if action_value == Action.MERGE:
                ctx["candidates"] = duplicate_candidates(
                    lon=case.lon, lat=case.lat, description=case.description, exclude_pk=case.pk,
                )
            _add_register_hints(ctx)
        template = "cases/_action_form.html" if htmx_partial(request) else "cases/action.html"
        return render(request, template, ctx, status=200 if ctx["form"] is not None or htmx_partial(request) else 409)

    form = form_class(request.POST, request.FILES, case=case)
    ctx["form"] = form
    error: CaseError | None = None
    if form.is_valid():
        try:
            # The photos go with the action: the service stores them with its event, all or nothing.
            fresh = case_transition(
                case=case, action=action_value, actor=request.user,
                data={**form.transition_data(), "photos": form.uploaded_photos()},
                expected_version=form.cleaned_data["version"],
            )
        except CaseError as exc:
            error = exc
        else:
            return _action_done(request, fresh, action_value, nxt)
    return _action_failed(request, ctx, error)


def _action_done(request: HttpRequest, case: Case, action: Action, nxt: str | None) -> HttpResponse:
    text = f"已{action.label}：{case.number}（当前状态：{case.get_status_display()}）"
    if action == Action.MERGE and case.master_id:
        text = f"已将 {case.number} 合并到 {case.master.number}。"
    if htmx_partial(request):
        html = render_to_string("cases/_action_done.html", {"case": case, "text": text}, request=request)
        return trigger_client_event(HttpResponse(html), CASES_CHANGED)
    messages.success(request, text)
    return redirect(nxt or reverse("cases:detail", args=[case.number]))


def _add_register_hints(ctx: dict[str, Any]) -> None:
    """The 立案 form of an uncategorised case (web, citizen, Open311, city platform…) offers the
    model's and the catalogue's top-3 leaf categories as chips."""
    case = ctx["case"]
    if ctx["action"] == Action.REGISTER and ctx.get("form") is not None and case.category_id is None:
        ctx["category_hints"] = presenters.register_suggestions(case)


def _action_failed(request: HttpRequest, ctx: dict[str, Any], error: CaseError | None) -> HttpResponse:
    """Show the form again with the user's input and the error in Chinese."""
    form = ctx["form"]
    _add_register_hints(ctx)
    if error is not None:
        ctx["error"] = error.message
    elif form.errors.get("version"):
        ctx["error"] = "表单已失效，请刷新页面后重试。"
    ctx["conflict"] = isinstance(error, Conflict)
    if htmx_partial(request):
        response = render(request, "cases/_action_form.html", ctx)
        if ctx.get("slot"):
            response = reswap(retarget(response, f"#{ctx['slot']}"), "innerHTML")
        return response
    status = ERROR_STATUS.get(type(error), 400) if error is not None else 400
    return render(request, "cases/action.html", ctx, status=status)


# ---------------------------------------------------------------- notifications


def _notification_context(request: HttpRequest, params) -> dict[str, Any]:
    qs = Notification.objects.filter(recipient=request.user).select_related("case")
    unread_only = params.get("unread") == "1"
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    page = Paginator(qs.order_by("-created_at", "-id"), 30).get_page(params.get("page"))
    return {
        "page_obj": page, "unread_only": unread_only,
        "unread_count": Notification.objects.filter(recipient=request.user, read_at__isnull=True).count(),
    }


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    ctx = _notification_context(request, request.GET)
    if htmx_target(request) == "notification-list":
        return render(request, "cases/_notification_list.html", ctx)
    return render(request, "cases/notifications.html", ctx)


@login_required
@require_GET
def notification_count(request: HttpRequest) -> HttpResponse:
    count = Notification.objects.filter(recipient=request.user, read_at__isnull=True).count()
    return render(request, "cases/_notification_count.html", {"unread_count": count})


@login_required
@require_POST
def notification_mark_read(request: HttpRequest) -> HttpResponse:
    """Mark the posted ids (or, with all=1, every unread one) as read."""
    qs = Notification.objects.filter(recipient=request.user, read_at__isnull=True)
    if request.POST.get("all") != "1":
        ids = [int(i) for i in request.POST.getlist("id") if i.isdigit()]
        qs = qs.filter(pk__in=ids)
    marked = qs.update(read_at=timezone.now())
    if htmx_partial(request):
        ctx = _notification_context(request, request.POST)
        response = render(request, "cases/_notification_list.html", ctx)
        return trigger_client_event(response, "notifications-changed")
    messages.success(request, f"已将 {marked} 条通知标为已读。")
    return redirect(_safe_next(request, request.POST.get("next")) or reverse("cases:notifications"))


@login_required
@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and go to its case (if the user may still see it)."""
    note = get_object_or_404(Notification.objects.select_related("case"), pk=pk, recipient=request.user)
    if note.read_at is None:
        Notification.objects.filter(pk=note.pk).update(read_at=timezone.now())
    if note.case_id:
        try:
            case = case_get(user=request.user, number=note.case.number)
        except CaseNotFound:
            messages.warning(request, "该案件已不在您的处理范围内。")
            return redirect("cases:notifications")
        return redirect("cases:detail", number=case.number)
    return redirect("cases:notifications")

