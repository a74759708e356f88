"""The admin of the intake domain: the mapping tables, devices and intake records (接入记录).

These pages moved from /admin/api/… to /admin/intake/… with their models (issue 15); only the
system administrator uses them."""

from django.contrib import admin

from cityops.catalog.models import Category
from cityops.intake.models import AddressMapping, AlarmTypeMapping, CityCategoryMapping, Device, IntakeRecord

# ---------------------------------------------------------------- mapping tables and devices


def _leaf_choices(field):
    field.queryset = Category.objects.filter(active=True, children__isnull=True).order_by("system", "code")
    return field


@admin.register(CityCategoryMapping)
class CityCategoryMappingAdmin(admin.ModelAdmin):
    list_display = ["city_text", "category", "active", "seen_count", "last_seen_at", "note"]
    list_filter = ["active", ("category", admin.EmptyFieldListFilter)]
    search_fields = ["city_text", "category__code", "category__name"]
    autocomplete_fields = []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return _leaf_choices(field) if db_field.name == "category" else field


@admin.register(AddressMapping)
class AddressMappingAdmin(admin.ModelAdmin):
    list_display = ["pattern", "lon", "lat", "region", "active", "note"]
    list_filter = ["active"]
    search_fields = ["pattern", "note"]
    raw_id_fields = ["region"]


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "lon", "lat", "address", "active", "verified"]
    list_filter = ["kind", "active", "verified"]
    search_fields = ["code", "name", "address"]


@admin.register(AlarmTypeMapping)
class AlarmTypeMappingAdmin(admin.ModelAdmin):
    list_display = ["event_type", "label", "category", "urgent", "active", "seen_count"]
    list_filter = ["active", "urgent", ("category", admin.EmptyFieldListFilter)]
    search_fields = ["event_type", "label"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return _leaf_choices(field) if db_field.name == "category" else field


def json_block(value) -> str:
    import json

    from django.utils.html import format_html

    return format_html('<pre style="white-space: pre-wrap">{}</pre>', json.dumps(value, ensure_ascii=False, indent=2))


@admin.register(IntakeRecord)
class IntakeRecordAdmin(admin.ModelAdmin):
    """接入记录. The stored body is masked (intake.masking). A role holding the personal-data
    permission also sees the reporter in clear, taken from the case through `reporter_reveal`;
    every view of a record's body is recorded in the audit trail (查看个人信息), masked or not."""

    list_display = ["created_at", "case", "channel", "source", "original_category", "category_mapped", "location_source",
                    "device_code", "repeat_count"]
    list_filter = ["channel", "category_mapped", "location_source"]
    search_fields = ["case__number", "original_category", "device_code"]
    readonly_fields = [f.name for f in IntakeRecord._meta.fields if f.name != "payload"] + ["body"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="原始数据（个人信息已脱敏）")
    def body(self, obj):
        return json_block(obj.payload or {}) if obj else ""

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None and _sees_personal_data(request.user):
            # One callable per request: the fieldsets and the read-only list must name the same object.
            if not hasattr(request, "_intake_reporter_field"):
                request._intake_reporter_field = self._reporter_in_clear(request)
            fields.append(request._intake_reporter_field)
        return fields

    def _reporter_in_clear(self, request):
        from cityops.cases.privacy import reporter_reveal

        @admin.display(description="反映人（完整，已记录审计）")
        def reporter(obj):
            shown = reporter_reveal(case=obj.case, user=request.user, request=request, via="admin:intake_record")
            return f"{shown['name'] or '—'} {shown['phone'] or ''}".strip()

        return reporter

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and getattr(response, "status_code", None) == 200:
            record = self.get_object(request, object_id)
            if record is not None:
                _audit_intake_view(request, record)
        return response


def _sees_personal_data(user) -> bool:
    from cityops.cases.permissions import can_see_personal_data

    return can_see_personal_data(user)


def _audit_intake_view(request, record: IntakeRecord) -> None:
    from cityops.audit.models import AuditAction
    from cityops.audit.services import audit_record
    from cityops.intake.masking import personal_fields

    audit_record(
        action=AuditAction.VIEW_PERSONAL_DATA, request=request, target=f"intake_record:{record.pk}",
        details={"case": record.case.number if record.case_id else None, "masked": not _sees_personal_data(request.user),
                 "fields": personal_fields(record.payload), "via": "admin:intake_record"},
    )
