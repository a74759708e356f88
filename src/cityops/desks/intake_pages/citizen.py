"""Citizen pages (no login): report a problem, follow it with its tracking code, rate the result."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from cityops.cases.errors import CaseError, ValidationFailed
from cityops.cases.models import Case, Channel
from cityops.cases.services import CaseInput, max_upload_bytes
from cityops.desks.intake_pages.common import apply_case_error
from cityops.intake import ratelimit
from cityops.intake.forms import CitizenReportForm, RatingForm, TrackForm
from cityops.intake.selectors import case_by_tracking_code, public_case_view
from cityops.intake.services import CITIZEN_LABEL, citizen_rate, report_create

SESSION_LAST_REPORT = "intake:last_report"
NOT_FOUND = "未找到该查询码对应的案件，请核对后重新输入。"


def _private(response: HttpResponse) -> HttpResponse:
    # Pages showing a tracking code are nobody's business but the reporter's.
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        if not ratelimit.hit(request, "report"):
            return ratelimit.too_many(request, "report")
        # Photos are what costs (decoding, re-encoding): a tighter per-address budget for them.
        if request.FILES.get("photo") and not ratelimit.hit(request, "report_photo"):
            return ratelimit.too_many(request, "report_photo")
        form = CitizenReportForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = report_create(
                    data=CaseInput(
                        description=data["description"], channel=Channel.WEB, case_type=data["case_type"],
                        lon=data["lon"], lat=data["lat"], coord_system=data["coord_system"], address=data["address"],
                        reporter_name=data["reporter_name"], reporter_phone=data["reporter_phone"],
                        no_callback=data["no_callback"],
                    ),
                    photo=data.get("photo"), actor_label=CITIZEN_LABEL, keep_gps=False,
                )
            except ValidationFailed as exc:
                apply_case_error(form, exc)
            else:
                request.session[SESSION_LAST_REPORT] = case.pk
                return redirect("intake:report_done")
        status = 400
    else:
        form = CitizenReportForm()
    context = {
        "form": form,
        "photo_hint": f"可选。最大 {max_upload_bytes() // 1048576} MB，支持 JPEG、PNG、WebP；公开展示前会去除照片中的位置等信息。",
        "photo_lost": request.method == "POST" and bool(request.FILES.get("photo")),
    }
    return render(request, "intake/report.html", context, status=status)


def report_done(request: HttpRequest) -> HttpResponse:
    pk = request.session.get(SESSION_LAST_REPORT)
    case = Case.objects.filter(pk=pk).first() if pk else None
    if case is None:
        return redirect("intake:report")
    track_url = f"{reverse('intake:track')}?code={case.tracking_code}"
    return _private(render(request, "intake/report_done.html", {"case": case, "track_url": track_url}))


def _status_page(request, case, *, form=None, rating_form=None, status=200) -> HttpResponse:
    context = {
        "form": form or TrackForm(initial={"code": case.tracking_code}),
        "view": public_case_view(case),
        "rating_form": rating_form or RatingForm(initial={"code": case.tracking_code}),
    }
    return _private(render(request, "intake/track.html", context, status=status))


@require_http_methods(["GET"])
def track(request: HttpRequest) -> HttpResponse:
    if "code" not in request.GET:
        return _private(render(request, "intake/track.html", {"form": TrackForm()}))
    form = TrackForm(request.GET)
    if not form.is_valid():
        return _private(render(request, "intake/track.html", {"form": form}, status=400))
    if not ratelimit.hit(request, "track"):
        return ratelimit.too_many(request, "track")
    if ratelimit.exceeded(request, "track_miss"):
        return ratelimit.too_many(request, "track_miss")
    case = case_by_tracking_code(form.cleaned_data["code"])
    if case is None:
        ratelimit.hit(request, "track_miss")
        form.add_error("code", NOT_FOUND)
        return _private(render(request, "intake/track.html", {"form": form, "not_found": True}, status=404))
    return _status_page(request, case, form=form)


@require_POST
def rate(request: HttpRequest) -> HttpResponse:
    if not ratelimit.hit(request, "rate"):
        return ratelimit.too_many(request, "rate")
    case = case_by_tracking_code(request.POST.get("code", ""))
    if case is None:
        ratelimit.hit(request, "track_miss")
        form = TrackForm(initial={"code": request.POST.get("code", "")})
        return _private(render(request, "intake/track.html", {"form": form, "not_found": True, "error": NOT_FOUND}, status=404))
    rating_form = RatingForm(request.POST)
    status = 400
    if rating_form.is_valid():
        try:
            citizen_rate(case, rating_form.cleaned_data["satisfaction"], rating_form.cleaned_data["comment"])
        except CaseError as exc:
            apply_case_error(rating_form, exc)
            status = exc.http_status
            case.refresh_from_db()
        else:
            messages.success(request, "感谢您的评价！")
            return redirect(f"{reverse('intake:track')}?code={case.tracking_code}")
    return _status_page(request, case, rating_form=rating_form, status=status)
