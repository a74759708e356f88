"""Downloads of the case list (Excel, CSV, GeoJSON) with the filters of the case list page.

Masked by default; `reveal=1` asks for personal data in clear (roles that may see it only,
recorded as a reveal)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cityops.cases.errors import ValidationFailed
from cityops.cases.selectors import CaseFilters
from cityops.desks.forms import CaseFilterForm
from cityops.intake.exports import FORMATS, RevealNotAllowed, can_export, case_export


def _refuse(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "intake/export_error.html", {"message": message}, status=status)


@login_required
@require_GET
def case_export_view(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt not in FORMATS:
        raise Http404("没有这种导出格式。")
    if not can_export(request.user):
        return _refuse(request, "您的角色无权导出案件。", 403)
    form = CaseFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        # Unlike the list page, an export never silently drops a filter: it could hand out more rows than meant.
        problems = "；".join(f"{form.fields[name].label if name in form.fields else ''}：{e}" for name, errs in form.errors.items() for e in errs)
        return _refuse(request, f"筛选条件有误，未导出：{problems}", 400)
    filters = form.to_filters() if form.is_bound else CaseFilters()
    reveal = request.GET.get("reveal", "") in ("1", "true")
    try:
        return case_export(user=request.user, filters=filters, fmt=fmt, request=request, via="web", reveal=reveal)
    except RevealNotAllowed as exc:
        return _refuse(request, str(exc), 403)
    except ValidationFailed as exc:
        return _refuse(request, f"筛选条件有误，未导出：{exc.message}", 400)
