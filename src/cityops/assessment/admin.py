"""Admin: composite-score weights (one number field per indicator), the loaded targets (read
mostly: the data file is their source) and their manual values."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from cityops.assessment.indicators import WEIGHT_TOTAL, Kind, scored_indicators
from cityops.assessment.models import (
    AssessmentScheme,
    AssessmentSnapshot,
    PerformanceTarget,
    TargetManualValue,
)
from cityops.assessment.scoring import schemes_ensure, validate_weights

FIELD_PREFIX = "w_"


class SchemeFormBase(forms.ModelForm):
    class Meta:
        model = AssessmentScheme
        fields = ["note"]

    kind_value: str = Kind.DEPARTMENT

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.weights if isinstance(self.instance.weights, dict) else {}
        for item in scored_indicators(self.kind_value):
            name = FIELD_PREFIX + item.code
            if name in self.fields:
                self.fields[name].initial = stored.get(item.code, 0)

    def clean(self):
        cleaned = super().clean()
        weights = {item.code: cleaned.get(FIELD_PREFIX + item.code) for item in scored_indicators(self.kind_value)}
        try:
            self.instance.weights = validate_weights(self.kind_value, weights)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
        return cleaned


def scheme_form_for(kind: str) -> type[SchemeFormBase]:
    """A form class with one weight field per scored indicator of `kind`."""
    attrs: dict = {"kind_value": kind}
    for item in scored_indicators(kind):
        attrs[FIELD_PREFIX + item.code] = forms.IntegerField(
            label=f"{item.name}（{item.better_label}）", required=False, min_value=0, max_value=WEIGHT_TOTAL,
            help_text=item.formula,
        )
    return type(f"SchemeForm_{kind}", (SchemeFormBase,), attrs)


@admin.register(AssessmentScheme)
class AssessmentSchemeAdmin(admin.ModelAdmin):
    list_display = ["kind", "weights_text", "note", "updated_at", "updated_by"]
    readonly_fields = ["kind", "updated_at", "updated_by"]

    @admin.display(description="指标权重")
    def weights_text(self, obj: AssessmentScheme) -> str:
        names = {i.code: i.name for i in scored_indicators(obj.kind)}
        return "、".join(f"{names.get(c, c)} {w}" for c, w in (obj.weights or {}).items() if w)

    def has_add_permission(self, request) -> bool:
        return False  # one scheme per kind, created by `assessment_load_targets` (or on opening this list)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        if self.has_change_permission(request):
            schemes_ensure()
        return super().changelist_view(request, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = scheme_form_for(obj.kind if obj else Kind.DEPARTMENT)
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        kind = obj.kind if obj else Kind.DEPARTMENT
        weights = [FIELD_PREFIX + i.code for i in scored_indicators(kind)]
        return [
            (None, {"fields": ["kind"]}),
            (f"指标权重（整数，合计须为 {WEIGHT_TOTAL}）", {"fields": weights}),
            (None, {"fields": ["note", "updated_at", "updated_by"]}),
        ]

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


class ManualValueInline(admin.TabularInline):
    model = TargetManualValue
    extra = 0
    fields = ["period_start", "period_end", "value", "achieved", "note", "entered_by", "entered_at"]
    readonly_fields = ["entered_by", "entered_at"]


@admin.register(PerformanceTarget)
class PerformanceTargetAdmin(admin.ModelAdmin):
    list_display = ["name", "year", "project", "target_label", "weight", "metric", "active"]
    list_filter = ["year", "group", "active"]
    search_fields = ["name", "project", "code"]
    readonly_fields = [
        "code", "year", "group", "project", "project_budget", "level1", "level2", "name", "op", "value", "value_text",
        "unit", "period", "weight", "metric", "order",
    ]
    inlines = [ManualValueInline]

    @admin.display(description="目标值")
    def target_label(self, obj: PerformanceTarget) -> str:
        return obj.target_label

    def has_add_permission(self, request) -> bool:
        return False  # targets come from the product's data file (`cityops assessment_load_targets`)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_formset(self, request, form, formset, change):
        for item in formset.save(commit=False):
            item.entered_by = request.user
            item.save()
        for item in formset.deleted_objects:
            item.delete()


@admin.register(TargetManualValue)
class TargetManualValueAdmin(admin.ModelAdmin):
    list_display = ["target", "period_start", "period_end", "value", "achieved", "note", "entered_by", "entered_at"]
    list_filter = ["target__year"]
    search_fields = ["target__name", "note"]
    readonly_fields = ["entered_by", "entered_at"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "target":
            kwargs["queryset"] = PerformanceTarget.objects.filter(active=True).order_by("-year", "order")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        obj.entered_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(AssessmentSnapshot)
class AssessmentSnapshotAdmin(admin.ModelAdmin):
    list_display = ["month", "kind", "computed_at"]
    list_filter = ["kind"]
    readonly_fields = ["kind", "month", "data", "computed_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
