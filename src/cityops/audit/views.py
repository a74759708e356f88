"""The audit administrator's page: search the trail, see whether the chain is intact, export CSV.

三员分立: only the audit administrator opens it. System and security administrators (and
superusers without the role) get 403; reading is itself not recorded, exporting is.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from cityops.accounts import roles
from cityops.audit.forms import AuditFilterForm
from cityops.audit.models import AuditAction
from cityops.audit.selectors import AuditFilters, audit_entries, chain_status, csv_rows
from cityops.audit.services import audit_record

PAGE_SIZE = 50


def auditor_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        user = request.user
        if not (user.has_role(roles.AUDITOR) and user.has_perm("audit.view_auditentry")):
            return render(request, "cases/403.html", {"message": "审计日志只有审计管理员可以查看。"}, status=403)
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _filters(request: HttpRequest) -> tuple[AuditFilterForm, AuditFilters | None]:
    form = AuditFilterForm(request.GET or None)
    if not request.GET:
        return form, AuditFilters()
    return form, (form.filters() if form.is_valid() else None)


@auditor_required
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    qs = audit_entries(filters) if filters is not None else audit_entries().none()
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("verify", None)
    return render(request, "audit/list.html", {
        "form": form, "page_obj": page, "entries": page.object_list, "querystring": params.urlencode(),
        "chain": chain_status(refresh=request.GET.get("verify") == "1"),
    })


@auditor_required
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    if filters is None:
        return render(request, "audit/list.html", {
            "form": form, "page_obj": None, "entries": [], "querystring": "", "chain": chain_status(),
        }, status=400)
    qs = audit_entries(filters)
    count = qs.count()
    # Recorded before the rows are read, so the export shows up in what it exports.
    audit_record(
        action=AuditAction.EXPORT, request=request, target="audit:csv",
        details={"format": "csv", "count": count, "filters": filters.for_audit()},
    )
    response = StreamingHttpResponse(csv_rows(audit_entries(filters)), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
