"""The audit trail in the admin: read-only, for the audit administrator (and superusers)."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from cityops.audit.models import AuditEntry
from cityops.audit.services import verify_chain


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "actor_label", "action", "target", "ip", "short_hash")
    list_filter = ("action", "created_at")
    search_fields = ("actor_label", "target")
    date_hierarchy = "created_at"
    list_per_page = 50
    readonly_fields = ("created_at", "actor", "actor_label", "action", "target", "pretty_details", "ip", "prev_hash", "hash")
    exclude = ("details",)
    change_list_template = "admin/audit/auditentry/change_list.html"

    @admin.display(description="哈希")
    def short_hash(self, obj: AuditEntry) -> str:
        return obj.hash[:12]

    @admin.display(description="详情")
    def pretty_details(self, obj: AuditEntry) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.details, ensure_ascii=False, indent=2))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_urls(self):
        verify = path("verify/", self.admin_site.admin_view(self.verify_view), name="audit_auditentry_verify")
        return [verify, *super().get_urls()]

    def verify_view(self, request: HttpRequest):
        if not self.has_view_permission(request):
            raise PermissionDenied
        ok, first_bad = verify_chain()
        if ok:
            messages.success(request, "审计日志哈希链完整：没有发现篡改、删除或插入。")
        else:
            messages.error(request, f"审计日志哈希链校验失败：第一处异常在 ID {first_bad}，该条或其之前的记录被修改或删除。")
        return HttpResponseRedirect(reverse("admin:audit_auditentry_changelist"))
