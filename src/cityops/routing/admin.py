"""Admin: models (activate / roll back), auto-dispatch settings, per-category opt-outs."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from cityops.routing import registry
from cityops.routing.models import AutoDispatchExclusion, DuplicateIndexEntry, RoutingModel, RoutingSettings


def _pct(value) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) else "—"


@admin.register(RoutingModel)
class RoutingModelAdmin(admin.ModelAdmin):
    list_display = ("version", "active", "algorithm", "training_size", "macro_f1", "top3", "coverage", "threshold_short", "created_at",
                    "activated_at")
    list_filter = ("active", "algorithm")
    ordering = ("-version",)
    actions = ["activate_selected", "rollback"]
    readonly_fields = ("version", "created_at", "created_by", "algorithm", "source", "training_size", "classes", "metrics_table",
                       "threshold", "target_precision", "artifact_size", "active", "activated_at")
    fields = (*readonly_fields, "note")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("artifact")

    def has_add_permission(self, request) -> bool:  # models come from `cityops routing train`
        return False

    @admin.display(description="宏平均 F1")
    def macro_f1(self, obj: RoutingModel) -> str:
        return _pct((obj.metrics or {}).get("macro_f1"))

    @admin.display(description="Top-3")
    def top3(self, obj: RoutingModel) -> str:
        return _pct((obj.metrics or {}).get("top3"))

    @admin.display(description="自动派遣阈值", ordering="threshold")
    def threshold_short(self, obj: RoutingModel) -> str:
        return f"{obj.threshold:.3f}"

    @admin.display(description="自动派遣覆盖率")
    def coverage(self, obj: RoutingModel) -> str:
        return _pct((obj.metrics or {}).get("coverage"))

    @admin.display(description="指标")
    def metrics_table(self, obj: RoutingModel):
        shown = {k: v for k, v in (obj.metrics or {}).items() if k != "curve"}
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", json.dumps(shown, ensure_ascii=False, indent=1))

    @admin.action(description="启用所选模型（只能选一个）", permissions=["change"])
    def activate_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "请只选择一个模型启用。", messages.ERROR)
            return
        model = registry.model_activate(queryset.get().version, request=request)
        self.message_user(request, f"已启用模型 v{model.version}。", messages.SUCCESS)

    @admin.action(description="回滚到上一个启用过的模型", permissions=["change"])
    def rollback(self, request, queryset):
        try:
            model = registry.model_rollback(request=request)
        except registry.ModelNotFound as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"已回滚，当前启用模型 v{model.version}。", messages.SUCCESS)


@admin.register(RoutingSettings)
class RoutingSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "auto_dispatch_enabled", "target_precision", "updated_at")

    def has_add_permission(self, request) -> bool:
        # A singleton, but still only for those holding the permission (not any staff account).
        return super().has_add_permission(request) and not RoutingSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AutoDispatchExclusion)
class AutoDispatchExclusionAdmin(admin.ModelAdmin):
    list_display = ("category", "reason", "created_at")
    autocomplete_fields = ("category",)
    search_fields = ("category__code", "category__name")


@admin.register(DuplicateIndexEntry)
class DuplicateIndexEntryAdmin(admin.ModelAdmin):
    list_display = ("case", "cell", "created_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
