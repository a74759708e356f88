"""Bookkeeping of the periodic jobs (which ran when, how far a sweep got) and the
benchmark-only probe table."""

from __future__ import annotations

from django.db import models


class JobRun(models.Model):
    """The last run of one periodic job (SLA scan, escalation, webhook delivery …).

    `cutoff` is the job's own watermark: how far in time it has swept, so a job that was
    not run for a while (Redis or the workers were down) catches up from there instead of
    skipping what happened meanwhile. Health checks read the other fields.
    """

    name = models.CharField("任务", max_length=64, primary_key=True)
    cutoff = models.DateTimeField("已处理至", null=True, blank=True)
    last_started_at = models.DateTimeField("最近开始", null=True, blank=True)
    last_finished_at = models.DateTimeField("最近完成", null=True, blank=True)
    last_ok_at = models.DateTimeField("最近成功", null=True, blank=True)
    last_status = models.CharField("状态", max_length=16, blank=True)
    last_result = models.JSONField("结果", default=dict, blank=True)
    last_error = models.TextField("错误", blank=True)
    runs = models.PositiveIntegerField("运行次数", default=0)

    class Meta:
        verbose_name = "后台任务运行记录"
        verbose_name_plural = "后台任务运行记录"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}: {self.last_status or '-'}"


class BenchProbe(models.Model):
    """One row per call of the benchmark-only insert endpoint (the intake ceiling).
    Only written when `CITYOPS_BENCHMARK_ENDPOINTS` is on."""

    created_at = models.DateTimeField()
    note = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = "基准测试探针"
        verbose_name_plural = "基准测试探针"

    def __str__(self) -> str:
        return f"probe {self.pk}"
