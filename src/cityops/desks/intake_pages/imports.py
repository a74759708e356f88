"""The operators' bulk import page (批量导入): template download, upload, progress, result, error list."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from cityops.accounts import roles
from cityops.audit.models import AuditAction, AuditEntry
from cityops.audit.services import client_ip
from cityops.common.csvsafe import csv_writer
from cityops.desks.views import htmx_partial, role_required
from cityops.intake import import_jobs
from cityops.intake.columns import IMPORT_COLUMNS
from cityops.intake.import_checks import max_bytes, max_rows, max_xlsx_uncompressed_bytes
from cityops.intake.xlsx import XlsxError, check_archive

IMPORT_ROLES = (roles.OPERATOR,)
SHOWN_ERRORS = 200
ACCEPTED = (".xlsx", ".csv", ".txt")


class ImportForm(forms.Form):
    file = forms.FileField(label="数据文件", error_messages={"required": "请选择要导入的 Excel 或 CSV 文件。", "empty": "文件是空的。"})
    skip_invalid = forms.BooleanField(label="跳过有问题的行，只导入正确的行", required=False)
    dry_run = forms.BooleanField(label="只校验，不导入", required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        suffix = Path(upload.name or "").suffix.lower()
        if suffix == ".xls":
            raise forms.ValidationError("不支持旧版 .xls 文件，请在 Excel 中“另存为”Excel 工作簿 (.xlsx) 后导入。")
        if suffix not in ACCEPTED:
            raise forms.ValidationError("只能导入 Excel 工作簿 (.xlsx) 或 CSV 文件。")
        if upload.size > max_bytes():
            raise forms.ValidationError(f"文件过大（{upload.size / 1048576:.1f} MB），上限为 {max_bytes() // 1048576} MB，请拆分后导入。")
        if upload.size == 0:
            raise forms.ValidationError("文件是空的。")
        # The content must match the name: an .xlsx is a zip, a CSV is text.
        head = upload.read(8192)
        upload.seek(0)
        if suffix == ".xlsx" and not head.startswith(b"PK\x03\x04"):
            raise forms.ValidationError("文件扩展名是 .xlsx，但内容不是 Excel 工作簿，请用 Excel 另存为 .xlsx 后导入。")
        if suffix == ".xlsx":
            _check_zip(upload)
        if suffix in (".csv", ".txt") and (b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff"))):
            raise forms.ValidationError(f"文件扩展名是 {suffix}，但内容不是文本，请导出为 CSV 或 Excel 工作簿 (.xlsx) 后导入。")
        return upload


def _check_zip(upload) -> None:
    """A zip bomb is refused with the form (400), before a job is started for it."""
    try:
        with zipfile.ZipFile(upload) as archive:
            check_archive(archive, max_xlsx_uncompressed_bytes())
    except XlsxError as exc:
        raise forms.ValidationError(exc.message) from None
    except (zipfile.BadZipFile, OSError, ValueError):
        raise forms.ValidationError("文件不是有效的 .xlsx 文件（无法解压），请用 Excel 另存为 .xlsx 后导入。") from None
    finally:
        upload.seek(0)


def _recent(user) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditAction.IMPORT, actor=user).order_by("-id")[:8])


@role_required(*IMPORT_ROLES)
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = import_jobs.job_start(
            upload=form.cleaned_data["file"], user=request.user, skip_invalid=form.cleaned_data["skip_invalid"],
            dry_run=form.cleaned_data["dry_run"], ip=client_ip(request),
        )
        return redirect("intake:import_job", job_id=job["id"])
    status = 400 if request.method == "POST" else 200
    return render(request, "intake/import.html", {
        "form": form, "columns": IMPORT_COLUMNS, "recent": _recent(request.user),
        "max_mb": max_bytes() // 1048576, "max_rows": max_rows(),
    }, status=status)


@role_required(*IMPORT_ROLES)
@require_GET
def import_job(request: HttpRequest, job_id: str) -> HttpResponse:
    job = import_jobs.job_get(job_id, request.user)
    if job is None:
        raise Http404("导入任务不存在或已过期。")
    result = job.get("result") or {}
    ctx = {
        "job": job, "result": result, "errors": (result.get("errors") or [])[:SHOWN_ERRORS], "shown": SHOWN_ERRORS,
        "phase_label": import_jobs.PHASES.get(job["phase"], job["phase"]),
        "percent": int(100 * job["done"] / job["total"]) if job.get("total") else None,
    }
    if htmx_partial(request):
        return render(request, "intake/_import_job.html", ctx)
    return render(request, "intake/import_job.html", ctx)


@role_required(*IMPORT_ROLES)
@require_GET
def import_errors(request: HttpRequest, job_id: str) -> HttpResponse:
    """Every error of the job as a CSV (UTF-8 with BOM), to fix the file row by row in Excel."""
    job = import_jobs.job_get(job_id, request.user)
    if job is None or not job.get("result"):
        raise Http404("导入任务不存在或已过期。")
    buffer = io.StringIO()
    # The cells are the uploaded file's own: neutralised like every CSV the site hands out.
    writer = csv_writer(buffer)
    writer.writerow(["行号", "列", "列名", "单元格内容", "问题", "错误代码"])
    for error in job["result"].get("errors") or []:
        writer.writerow([error["row"] or "", error["column"], error["header"], error["value"], error["message"], error["code"]])
    response = HttpResponse(("\ufeff" + buffer.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-errors-{job_id}.csv"'
    return response


@role_required(*IMPORT_ROLES)
@require_GET
def import_template(request: HttpRequest, fmt: str) -> HttpResponse:
    # openpyxl takes most of a second to import: only when a template is asked for.
    from cityops.intake.import_template import template_csv, template_xlsx

    if fmt == "xlsx":
        response = HttpResponse(template_xlsx(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    elif fmt == "csv":
        response = HttpResponse(template_csv(), content_type="text/csv; charset=utf-8")
    else:
        raise Http404("没有这种模板格式。")
    response["Content-Disposition"] = f'attachment; filename="cityops-import-template.{fmt}"'
    return response
