"""Routing models as versioned artifacts, the auto-dispatch settings, and the duplicate index."""

from __future__ import annotations

from django.conf import settings
from django.db import models

DEFAULT_TARGET_PRECISION = 0.98


class RoutingModel(models.Model):
    """One trained text classifier (joblib bytes) with what it was trained on and how well it did.

    Exactly one row may be active (a partial unique constraint): `services.model_activate`
    switches atomically, and the predict service reloads when the active version changes.
    `metrics` holds the cross-validated figures measured on the training data only, the
    auto-dispatch threshold chosen from them and the precision/coverage curve it came from.
    """

    version = models.PositiveIntegerField("版本", unique=True)
    created_at = models.DateTimeField("训练时间", auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="训练人", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    algorithm = models.CharField("算法", max_length=64)
    source = models.CharField("训练数据", max_length=200, blank=True, help_text="CSV 文件名或“案件历史”")
    training_size = models.PositiveIntegerField("训练样本数")
    classes = models.JSONField("类别", default=list, help_text="模型能预测的分类编码")
    metrics = models.JSONField("指标", default=dict, blank=True)
    threshold = models.FloatField("自动派遣阈值", help_text="最高概率不低于此值时可自动派遣（交叉验证选定）")
    target_precision = models.FloatField("目标准确率", default=DEFAULT_TARGET_PRECISION)
    artifact = models.BinaryField("模型文件 (joblib)", editable=False)
    artifact_size = models.PositiveIntegerField("模型大小 (字节)", default=0)
    active = models.BooleanField("启用", default=False)
    activated_at = models.DateTimeField("启用时间", null=True, blank=True)
    note = models.CharField("备注", max_length=200, blank=True)

    class Meta:
        verbose_name = "分拨模型"
        verbose_name_plural = "分拨模型"
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=models.Q(active=True), name="routing_one_active_model"),
        ]

    def __str__(self) -> str:
        return f"v{self.version} {self.algorithm}{' (启用)' if self.active else ''}"

    def threshold_for(self, target_precision: float | None) -> float:
        """The threshold for another target precision, read off the stored cross-validation curve."""
        from cityops.routing.training import threshold_from_curve

        if target_precision is None or abs(target_precision - self.target_precision) < 1e-9:
            return self.threshold
        curve = (self.metrics or {}).get("curve") or []
        return threshold_from_curve(curve, target_precision)


class RoutingSettings(models.Model):
    """The one row of auto-dispatch settings (pk=1): global switch and target precision."""

    auto_dispatch_enabled = models.BooleanField("启用自动派遣", default=True, help_text="关闭后所有案件都等待人工派遣，仅显示建议")
    target_precision = models.FloatField(
        "目标准确率", default=DEFAULT_TARGET_PRECISION,
        help_text="自动派遣须达到的准确率（0.5–0.999）；阈值按训练数据交叉验证的曲线选取",
    )
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "智能分拨设置"
        verbose_name_plural = "智能分拨设置"
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="routing_settings_singleton"),
            models.CheckConstraint(
                condition=models.Q(target_precision__gte=0.5, target_precision__lte=0.999), name="routing_target_precision_range",
            ),
        ]

    def __str__(self) -> str:
        return "智能分拨设置"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> RoutingSettings:
        obj = cls.objects.filter(pk=1).first()
        return obj if obj is not None else cls(pk=1)


class AutoDispatchExclusion(models.Model):
    """Cases of this category (or any category under it) are never dispatched automatically."""

    category = models.OneToOneField("catalog.Category", verbose_name="分类", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField("原因", max_length=200, blank=True)
    created_at = models.DateTimeField("设置时间", auto_now_add=True)

    class Meta:
        verbose_name = "不自动派遣的分类"
        verbose_name_plural = "不自动派遣的分类"
        ordering = ["category__code"]

    def __str__(self) -> str:
        return str(self.category)


class DuplicateIndexEntry(models.Model):
    """An open, located, unmerged case in a coarse spatial cell: what duplicate search scans.

    Kept by the `case_events_committed` receiver (and `cityops routing reindex`), so the
    search reads a few cells through one index instead of the whole case table.
    """

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, primary_key=True, related_name="+")
    cell = models.BigIntegerField("网格单元")
    lat = models.FloatField()
    lon = models.FloatField()
    created_at = models.DateTimeField("上报时间")
    text = models.CharField("摘要", max_length=400, help_text="标题与描述的规范化开头")

    class Meta:
        verbose_name = "重复件索引"
        verbose_name_plural = "重复件索引"
        indexes = [models.Index(fields=["cell", "created_at"], name="routing_dup_cell_time")]

    def __str__(self) -> str:
        return f"{self.case_id} @{self.cell}"
