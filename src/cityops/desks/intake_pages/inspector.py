"""Inspector (网格员) pages, phone first: report with photo and GPS, verify handled cases."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from cityops.cases.errors import CaseError, ValidationFailed
from cityops.cases.models import AttachmentKind, Channel
from cityops.cases.services import CaseInput, attachment_add, max_upload_bytes
from cityops.cases.states import Action, Status
from cityops.cases.workflow import case_transition
from cityops.desks.intake_pages.common import apply_case_error
from cityops.intake.forms import InspectorReportForm, VerifyForm
from cityops.intake.selectors import is_inspector, my_reports, verification_tasks
from cityops.intake.services import photo_gps, report_create


def inspector_required(view):
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_inspector(request.user):
            return render(request, "intake/m/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _tabs(request, active: str) -> dict:
    return {"tab": active, "task_count": verification_tasks(request.user).count()}


@inspector_required
@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """Report a problem: photo (camera), GPS position, category, description."""
    status = 200
    if request.method == "POST":
        form = InspectorReportForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            lon, lat, coord_system = data["lon"], data["lat"], data["coord_system"]
            if lon is None and (from_photo := photo_gps(data["photo"])):
                lon, lat, coord_system = *from_photo, "wgs84"  # a camera's EXIF GPS is WGS-84
            try:
                case = report_create(
                    data=CaseInput(
                        description=data["description"], channel=Channel.INSPECTOR, category=data["category"],
                        lon=lon, lat=lat, coord_system=coord_system, address=data["address"],
                    ),
                    photo=data["photo"], actor=request.user, keep_gps=True,
                )
            except ValidationFailed as exc:
                apply_case_error(form, exc)
            else:
                messages.success(request, f"已上报，案件编号 {case.number}。")
                return redirect("intake:inspector_home")
        status = 400
    else:
        form = InspectorReportForm()
    context = {
        "form": form, "photo_hint": f"最大 {max_upload_bytes() // 1048576} MB。原图保留拍摄位置，作为现场证据。",
        "photo_lost": request.method == "POST" and bool(request.FILES.get("photo")),
        "recent": my_reports(request.user, limit=3), **_tabs(request, "report"),
    }
    return render(request, "intake/m/home.html", context, status=status)


@inspector_required
def tasks(request: HttpRequest) -> HttpResponse:
    """Cases handled by departments, waiting for on-site verification in my grids."""
    items = list(verification_tasks(request.user)[:100])
    return render(request, "intake/m/tasks.html", {"tasks": items, **_tabs(request, "tasks")})


@inspector_required
@require_http_methods(["GET", "POST"])
def task(request: HttpRequest, number: str) -> HttpResponse:
    case = verification_tasks(request.user).filter(number=number).first()
    if case is None:
        messages.warning(request, f"案件 {number} 不在您的待核查任务中（可能已被核查）。")
        return redirect("intake:inspector_tasks")
    status = 200
    if request.method == "POST":
        form = VerifyForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    fresh = case_transition(
                        case=case, action=Action.VERIFY, actor=request.user,
                        data={"passed": data["passed"], "note": data["note"]}, expected_version=data["version"],
                    )
                    if data.get("photo"):
                        event = fresh.events.filter(action=Action.VERIFY).order_by("-id").first()
                        attachment_add(case=fresh, upload=data["photo"], kind=AttachmentKind.VERIFY,
                                       actor=request.user, event=event, keep_gps=True)
            except CaseError as exc:
                apply_case_error(form, exc)
                status = exc.http_status
            else:
                if fresh.status == Status.CLOSED:
                    messages.success(request, f"案件 {fresh.number} 核查通过，已结案。")
                else:
                    messages.success(request, f"案件 {fresh.number} 核查未通过，已退回返工。")
                return redirect("intake:inspector_tasks")
        else:
            status = 400
    else:
        form = VerifyForm(initial={"version": case.version})
    photos = [
        {"url": a.public_file.url if a.public_file else a.file.url, "label": a.get_kind_display()}
        for a in case.attachments.filter(kind__in=[AttachmentKind.BEFORE, AttachmentKind.AFTER]).order_by("created_at", "id")
    ]
    context = {
        "case": case, "form": form, "photos": photos,
        "photo_hint": f"可选。最大 {max_upload_bytes() // 1048576} MB，原图保留拍摄位置，作为核查证据。",
        "photo_lost": request.method == "POST" and bool(request.FILES.get("photo")), **_tabs(request, "tasks"),
    }
    return render(request, "intake/m/task.html", context, status=status)


@inspector_required
def mine(request: HttpRequest) -> HttpResponse:
    return render(request, "intake/m/mine.html", {"reports": my_reports(request.user), **_tabs(request, "mine")})
