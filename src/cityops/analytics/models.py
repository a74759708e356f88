"""Rollups that feed the dashboard, the map and the big screen, and the records of the big screen.

Pages never count cases on request: they read `DailyCount` / `MonthlyCount` (how many cases
fall on a day or month, per street, per key of a dimension) and `OpenCase` (one narrow row per
open case, for SLA mix, overdue counts and map points). `rollups.py` keeps them current from
`cases.signals.case_events_committed`, rebuilds them (`cityops rollup_rebuild`) and repairs
them periodically (`cityops rollup_repair`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Dim(models.TextChoices):
    """Dimensions of the count rollups.

    Dimensions of *created* cases count each case once, on its local creation day, in its
    street; `status` moves a case from one key to another as it changes state. Dimensions of
    *events* count actions on the local day they happened.
    """

    # created cases
    TOTAL = "total", "上报量"
    STATUS = "status", "当前状态"
    CHANNEL = "channel", "来源渠道"
    TYPE = "type", "工单类型"
    CATEGORY = "cat", "分类 (小类 id)"
    COMMUNITY = "comm", "社区 (id)"
    GRID = "grid", "网格 (id)"
    HOUR = "hour", "上报时段 (0-23 时)"
    # events
    EVENT = "ev", "办理动作"
    SATISFACTION = "sat", "回访满意度"


# `street_id` of the district-wide rows kept for the dimensions in DISTRICT_DIMS: a district
# query then reads a few hundred rows a day instead of one set per street.
ALL_STREETS = -1
DISTRICT_DIMS = frozenset({"total", "status", "channel", "type", "cat", "hour", "ev", "sat"})


class RollupCount(models.Model):
    street_id = models.IntegerField("街道 id", default=0, help_text="geo.Region 的主键；0 表示未定位，-1 表示全区合计")
    dim = models.CharField("维度", max_length=8, choices=Dim.choices)
    key = models.CharField("取值", max_length=32, blank=True)
    n = models.IntegerField("数量", default=0)

    class Meta:
        abstract = True


class DailyCount(RollupCount):
    """How many cases (or events) of one key of one dimension fell on one local day in one street."""

    day = models.DateField("日期")

    class Meta:
        verbose_name = "日统计"
        verbose_name_plural = "日统计"
        constraints = [models.UniqueConstraint(fields=["dim", "day", "street_id", "key"], name="analytics_daily_key")]

    def __str__(self) -> str:
        return f"{self.day} {self.street_id} {self.dim}:{self.key}={self.n}"


class MonthlyCount(RollupCount):
    """The same counts per month (`month` is the first day), so long ranges read few rows."""

    month = models.DateField("月份 (当月 1 日)")

    class Meta:
        verbose_name = "月统计"
        verbose_name_plural = "月统计"
        constraints = [models.UniqueConstraint(fields=["dim", "month", "street_id", "key"], name="analytics_monthly_key")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.street_id} {self.dim}:{self.key}={self.n}"


class OpenCase(models.Model):
    """One open case, with just what the SLA mix, the overdue lists and the map points need.

    The SLA level is computed from `deadline` / `warn_at` at read time (a case turns red
    by the passing of time, without any event); a paused clock keeps `sla_level`.
    """

    case = models.OneToOneField("cases.Case", primary_key=True, on_delete=models.CASCADE, related_name="+")
    number = models.CharField("案件编号", max_length=20)
    status = models.CharField("状态", max_length=16)
    street_id = models.IntegerField("街道 id", default=0)
    community_id = models.IntegerField("社区 id", default=0)
    grid_id = models.IntegerField("网格 id", default=0)
    category_id = models.IntegerField("分类 id", default=0)
    case_type = models.CharField("工单类型", max_length=16, blank=True)
    created_at = models.DateTimeField("上报时间")
    deadline = models.DateTimeField("环节时限", null=True, blank=True)
    warn_at = models.DateTimeField("预警时间", null=True, blank=True)
    paused = models.BooleanField("计时暂停", default=False)
    sla_level = models.CharField("暂停时的时限状态", max_length=8, blank=True)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = "未办结案件快照"
        verbose_name_plural = "未办结案件快照"
        indexes = [
            models.Index(fields=["deadline"], name="analytics_open_deadline"),
            models.Index(fields=["street_id", "deadline"], name="analytics_open_street_dl"),
            models.Index(fields=["lon", "lat"], name="analytics_open_lonlat"),
        ]

    def __str__(self) -> str:
        return self.number


class BigScreenSession(models.Model):
    """One opening of the big screen (大屏), kept alive by its polling: the budget target
    "平均每天使用大屏巡查调度 ≥ 1 次" counts these per day."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="用户", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField("打开时间", db_index=True)
    last_seen_at = models.DateTimeField("最后刷新")
    polls = models.PositiveIntegerField("刷新次数", default=0)
    user_agent = models.CharField("浏览器", max_length=200, blank=True)

    class Meta:
        verbose_name = "大屏使用记录"
        verbose_name_plural = "大屏使用记录"
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.user} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration_seconds(self) -> float:
        return (self.last_seen_at - self.started_at).total_seconds()


class HotIssueRun(models.Model):
    """One computation of hot issues (clusters of similar cases) over a time window; pages read the latest."""

    computed_at = models.DateTimeField("计算时间", db_index=True)
    window_start = models.DateTimeField("窗口开始")
    window_end = models.DateTimeField("窗口结束")
    case_count = models.PositiveIntegerField("参与聚类案件数", default=0)
    duration_ms = models.PositiveIntegerField("耗时 (毫秒)", default=0)
    params = models.JSONField("参数", default=dict, blank=True)
    clusters = models.JSONField("热点列表", default=list, blank=True)

    class Meta:
        verbose_name = "热点计算"
        verbose_name_plural = "热点计算"
        ordering = ["-computed_at"]

    def __str__(self) -> str:
        return f"{self.computed_at:%Y-%m-%d %H:%M} ({len(self.clusters)})"
