"""The analysis report pages: /reports/ (choose a week or month, and the stored reports),
/reports/generate/ (build one now: the printable page or the XLSX) and /reports/files/<name>
(a stored report).

A report reads the rollups once and runs the assessment's aggregates (departments, streets,
the center) for the period and the one before. Measured on the demo district with 3,060 cases
(SQLite, two cores shared with other work): a week of 534 cases 0.4 s, a month of 1,012 cases
0.7 s (median of 5; the assessment aggregates are three quarters of it), so a report is built
within the request instead of being queued; the scheduled reports are stored from 06:00 for
the periods leaders ask for most. Every download is recorded in the audit trail as an export.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from cityops.analytics import reports
from cityops.analytics.permissions import can_view_reports
from cityops.audit.models import AuditAction
from cityops.audit.services import audit_record

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("html", "xlsx")


def reports_required(view):
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not can_view_reports(request.user):
            return render(request, "cases/403.html", {"message": "分析报告仅对指挥长和派遣员（值班长）开放。"}, status=403)
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _page(request: HttpRequest, *, errors: list[str] | None = None, status: int = 200, chosen: dict | None = None) -> HttpResponse:
    weekly, monthly = reports.report_period_last("weekly"), reports.report_period_last("monthly")
    ctx = {
        "weekly": weekly, "monthly": monthly, "errors": errors or [], "chosen": chosen or {},
        "stored": reports.stored_reports(),
    }
    return render(request, "analytics/reports.html", ctx, status=status)


@reports_required
@require_GET
def reports_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@reports_required
@require_GET
def report_generate(request: HttpRequest) -> HttpResponse:
    kind = (request.GET.get("kind") or "weekly").strip()
    fmt = (request.GET.get("format") or "html").strip()
    text = request.GET.get("period") or ""
    if fmt not in FORMATS:
        return _page(request, errors=[f"未知的格式“{fmt}”，可选：html（打印版）、xlsx（工作簿）。"], status=400)
    try:
        period = reports.report_period_parse(kind, text)
    except reports.ReportPeriodError as exc:
        return _page(request, errors=[exc.message], status=400, chosen={"kind": kind, "period": text})
    report = reports.report_build(period)
    audit_record(action=AuditAction.EXPORT, request=request, target=f"report:{period.file_stem}:{fmt}",
                 details={"kind": period.kind, "period": period.key, "format": fmt, "stored": False})
    if fmt == "xlsx":
        response = HttpResponse(reports.report_xlsx(report), content_type=XLSX_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{period.file_stem}.xlsx"'
    else:
        query = urlencode({"kind": period.kind, "period": period.key, "format": "xlsx"})
        toolbar = {"back": reverse("analytics:reports"), "xlsx": f"{reverse('analytics:report_generate')}?{query}"}
        response = HttpResponse(reports.report_html(report, css_href=static(f"analytics/{reports.CSS_NAME}"), toolbar=toolbar))
    response["Cache-Control"] = "private, no-store"
    return response


@reports_required
@require_GET
def report_file(request: HttpRequest, name: str) -> FileResponse:
    path = reports.stored_file(name)
    if path is None:
        raise Http404("没有这份报告。")
    if path.suffix in (".xlsx", ".html"):
        audit_record(action=AuditAction.EXPORT, request=request, target=f"report:{path.stem}:{path.suffix[1:]}",
                     details={"file": path.name, "stored": True})
    content_type = {".xlsx": XLSX_TYPE, ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8"}[path.suffix]
    response = FileResponse(path.open("rb"), content_type=content_type, as_attachment=path.suffix == ".xlsx", filename=path.name)
    response["Cache-Control"] = "private, no-store"
    return response
