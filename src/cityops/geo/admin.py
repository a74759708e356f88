"""Admin for regions and unit grids.

Boundaries are shown, not edited: geometry comes from `geo_import` (validated as a whole
layer) or from the demo generator, never from hand-typed JSON. Codes are fixed once a row
exists because cases, users and reports refer to them.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from cityops.geo.models import Region, UnitGrid

_BOUNDARY_PREVIEW_CHARS = 4000


def _boundary_summary(boundary: dict | None) -> str:
    if not boundary:
        return "—"
    text = json.dumps(boundary, ensure_ascii=False)
    more = f" … (共 {len(text)} 字符)" if len(text) > _BOUNDARY_PREVIEW_CHARS else ""
    return format_html(
        '<pre style="max-height:20em;overflow:auto;white-space:pre-wrap">{}{}</pre>',
        text[:_BOUNDARY_PREVIEW_CHARS],
        more,
    )


class _GeoAdmin(admin.ModelAdmin):
    readonly_fields = ("boundary_preview", "area_m2", "synthetic", "created_at", "updated_at")
    exclude = ("boundary",)

    @admin.display(description="边界 (GeoJSON, WGS-84)")
    def boundary_preview(self, obj) -> str:
        return _boundary_summary(obj.boundary)

    @admin.display(description="面积 (平方公里)", ordering="area_m2")
    def area_km2(self, obj) -> str:
        return f"{obj.area_m2 / 1e6:.3f}" if obj.area_m2 else "—"

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*fields, "code") if obj else fields

    def get_queryset(self, request):
        # The changelist never shows boundaries; the change form loads the deferred field.
        return super().get_queryset(request).defer("boundary")


@admin.register(Region)
class RegionAdmin(_GeoAdmin):
    list_display = ("code", "name", "short_name", "level", "kind", "parent", "area_km2", "synthetic")
    list_filter = ("level", "kind", "synthetic")
    search_fields = ("code", "name", "short_name")
    list_select_related = ("parent",)
    autocomplete_fields = ("parent",)
    ordering = ("code",)


@admin.register(UnitGrid)
class UnitGridAdmin(_GeoAdmin):
    list_display = ("code", "name", "community", "street", "area_km2", "synthetic")
    list_filter = ("synthetic", ("street", admin.RelatedOnlyFieldListFilter))
    search_fields = ("code", "name", "community__name", "community__short_name")
    list_select_related = ("community", "street")
    autocomplete_fields = ("community", "street")
    ordering = ("code",)
