"""Admin for the catalog: everything here is reference data that administrators maintain."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from cityops.catalog import workcal
from cityops.catalog.models import CalendarOverride, Category, Department, ResponsibilityRule, TimeLimit
from cityops.geo.models import Region


def _region_admin_searchable() -> bool:
    # Autocomplete needs the geo app's Region admin with search_fields. geo comes before catalog
    # in INSTALLED_APPS, so its admin module is already imported when this one runs.
    model_admin = admin.site._registry.get(Region)
    return bool(model_admin and model_admin.search_fields)


class TimeLimitInline(admin.TabularInline):
    model = TimeLimit
    extra = 0
    fields = ["stage", "urgency", "value", "unit"]
    ordering = ["urgency", "stage"]


class IsLeafFilter(admin.SimpleListFilter):
    title = "末级分类"
    parameter_name = "leaf"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "是"), ("no", "否")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Category]) -> QuerySet[Category]:
        if self.value() == "yes":
            return queryset.filter(children__isnull=True)
        if self.value() == "no":
            return queryset.filter(children__isnull=False).distinct()
        return queryset


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "system", "kind", "level", "parent", "default_urgency", "limit_count", "active"]
    list_display_links = ["code", "name"]
    list_filter = ["system", "kind", "level", "active", "publishable", "default_urgency", "requires_after_photo", IsLeafFilter]
    search_fields = ["code", "name", "keywords"]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]
    list_per_page = 100
    inlines = [TimeLimitInline]
    fieldsets = [
        (None, {"fields": ["code", "name", "system", "kind", "parent", "level", "sort_order", "active"]}),
        ("立案与结案", {"fields": ["register_condition", "close_condition", "default_urgency", "keywords"]}),
        ("处置证据", {"fields": ["requires_after_photo"]}),
        ("对外公开", {"fields": ["publishable"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        return super().get_queryset(request).annotate(_limit_count=Count("time_limits"))

    @admin.display(description="时限条数", ordering="_limit_count")
    def limit_count(self, obj: Category) -> int:
        return obj._limit_count  # type: ignore[attr-defined]


@admin.register(TimeLimit)
class TimeLimitAdmin(admin.ModelAdmin):
    """All limits in one table, for reviewing and bulk-editing across categories."""

    list_display = ["category", "stage", "urgency", "value", "unit"]
    list_editable = ["value", "unit"]
    list_filter = ["category__system", "stage", "urgency", "unit"]
    search_fields = ["category__code", "category__name"]
    list_select_related = ["category"]
    autocomplete_fields = ["category"]
    ordering = ["category__code", "urgency", "stage"]
    list_per_page = 100


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "short_name", "kind", "street", "phone", "active"]
    list_display_links = ["code", "name"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name", "short_name"]
    list_select_related = ["street"]
    if _region_admin_searchable():
        autocomplete_fields = ["street"]
    else:
        raw_id_fields = ["street"]


@admin.register(ResponsibilityRule)
class ResponsibilityRuleAdmin(admin.ModelAdmin):
    list_display = ["category", "street", "lead", "co_handler_names", "valid_from", "valid_to", "basis"]
    list_filter = ["category__system", "lead__kind", "lead", "street"]
    search_fields = ["category__code", "category__name", "lead__name", "lead__short_name", "basis"]
    list_select_related = ["category", "street", "lead"]
    date_hierarchy = "valid_from"
    autocomplete_fields = ["category", "lead", "co_handlers"]
    if _region_admin_searchable():
        autocomplete_fields = [*autocomplete_fields, "street"]
    else:
        raw_id_fields = ["street"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ResponsibilityRule]:
        return super().get_queryset(request).prefetch_related("co_handlers")

    @admin.display(description="协办部门")
    def co_handler_names(self, obj: ResponsibilityRule) -> str:
        return "、".join(d.short_name or d.name for d in obj.co_handlers.all())


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin):
    list_display = ["date", "weekday", "is_workday", "engine_answer", "note"]
    list_filter = ["is_workday"]
    search_fields = ["note"]
    date_hierarchy = "date"

    @admin.display(description="星期")
    def weekday(self, obj: CalendarOverride) -> str:
        return "周" + "一二三四五六日"[obj.date.weekday()]

    @admin.display(description="节假日引擎原判")
    def engine_answer(self, obj: CalendarOverride) -> str:
        state = "上班" if workcal.engine_is_workday(obj.date) else "放假"
        return f"{state}（{workcal.engine_day_label(obj.date)}）"
