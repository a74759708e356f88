"""Assessment configuration and data: scoring schemes, the center's performance targets,
their manual values, and monthly snapshots of the assessment counts."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from cityops.assessment.indicators import Kind


class AssessmentScheme(models.Model):
    """The composite-score weights of one evaluated kind (weights per indicator, summing to 100)."""

    kind = models.CharField("考核对象", max_length=16, choices=Kind.choices, unique=True)
    weights = models.JSONField("指标权重", default=dict, help_text="指标编码 → 权重（整数），合计须为 100")
    note = models.CharField("说明", max_length=200, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="更新人", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "考核权重方案"
        verbose_name_plural = "考核权重方案"
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}考核权重"

    def clean(self) -> None:
        from cityops.assessment.scoring import validate_weights

        try:
            self.weights = validate_weights(self.kind, self.weights)
        except ValidationError as exc:
            raise ValidationError({"weights": exc.messages}) from None


class TargetOp(models.TextChoices):
    GTE = ">=", "≥"
    LTE = "<=", "≤"
    EQ = "=", "="
    QUALITATIVE = "定性", "定性"


class PerformanceTarget(models.Model):
    """One 绩效目标 of the center's published budget, loaded from `data/targets_<year>.json`.

    `metric` names the platform figure that measures it live; without one it is tracked by
    manual entries (`TargetManualValue`)."""

    code = models.SlugField("编码", max_length=64, unique=True)
    year = models.PositiveIntegerField("预算年度")
    group = models.CharField("类别", max_length=16, choices=[("department", "部门整体支出"), ("project", "项目支出")])
    project = models.CharField("项目", max_length=120, blank=True)
    project_budget = models.DecimalField("项目预算 (万元)", max_digits=12, decimal_places=4, null=True, blank=True)
    level1 = models.CharField("一级指标", max_length=32, blank=True)
    level2 = models.CharField("二级指标", max_length=32, blank=True)
    name = models.CharField("指标名称", max_length=120)
    op = models.CharField("比较", max_length=4, choices=TargetOp.choices)
    value = models.DecimalField("目标值", max_digits=14, decimal_places=4, null=True, blank=True)
    value_text = models.CharField("目标值（定性）", max_length=64, blank=True)
    unit = models.CharField("单位", max_length=16, blank=True)
    period = models.CharField("计量周期", max_length=8, blank=True, help_text="day：日均；year：全年累计；空：期间内比率或人数")
    weight = models.DecimalField("分值", max_digits=6, decimal_places=2, null=True, blank=True)
    metric = models.CharField("平台指标", max_length=48, blank=True)
    order = models.PositiveIntegerField("顺序", default=0)
    active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "绩效目标"
        verbose_name_plural = "绩效目标"
        ordering = ["year", "order"]

    def __str__(self) -> str:
        return f"{self.year} {self.name}"

    @property
    def target_label(self) -> str:
        if self.op == TargetOp.QUALITATIVE:
            return self.value_text
        value = f"{self.value.normalize():f}" if self.value is not None else "—"
        return f"{TargetOp(self.op).label} {value}{self.unit}"


class TargetManualValue(models.Model):
    """A value of a target entered by hand for a period (targets without a live metric)."""

    target = models.ForeignKey(PerformanceTarget, verbose_name="绩效目标", on_delete=models.CASCADE, related_name="manual_values")
    period_start = models.DateField("期间开始")
    period_end = models.DateField("期间结束")
    value = models.DecimalField("实际值", max_digits=14, decimal_places=4, null=True, blank=True)
    achieved = models.BooleanField("是否达成", null=True, blank=True, help_text="定性指标填写；留空则按实际值与目标值比较")
    note = models.CharField("说明", max_length=200, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="填报人", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entered_at = models.DateTimeField("填报时间", auto_now=True)

    class Meta:
        verbose_name = "绩效目标人工填报"
        verbose_name_plural = "绩效目标人工填报"
        ordering = ["-period_end", "-entered_at"]
        indexes = [models.Index(fields=["target", "period_end"], name="target_manual_period")]

    def __str__(self) -> str:
        return f"{self.target.name} {self.period_start}–{self.period_end}"

    def clean(self) -> None:
        if self.period_start and self.period_end and self.period_start > self.period_end:
            raise ValidationError({"period_end": "期间结束不能早于期间开始。"})
        if self.value is None and self.achieved is None:
            raise ValidationError("请填写实际值，或（定性指标）选择是否达成。")


class AssessmentSnapshot(models.Model):
    """The assessment counts of one kind for one closed month, frozen by `cityops assessment_snapshot`.

    A closed month's counts never change (everything is cut off at the month's end), so
    pages read the snapshot instead of re-aggregating the event history; scores are still
    computed at read time, so a change of weights applies at once."""

    kind = models.CharField("考核对象", max_length=16, choices=Kind.choices)
    month = models.DateField("月份", help_text="当月 1 日")
    data = models.JSONField("计数", default=dict, help_text="对象编号 → 各项计数")
    computed_at = models.DateTimeField("计算时间", auto_now=True)

    class Meta:
        verbose_name = "考核月度快照"
        verbose_name_plural = "考核月度快照"
        ordering = ["-month", "kind"]
        constraints = [models.UniqueConstraint(fields=["kind", "month"], name="uniq_assessment_snapshot")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.get_kind_display()}"
