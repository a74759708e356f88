"""Models of the api app: bearer tokens, API keys of other systems and their call log, and
the webhook outbox. (The intake mapping tables, devices and intake records are the intake
app's: `cityops.intake.models`.)

A bearer token is `<prefix>.<secret>`: the prefix finds the row, the secret is kept only as its
SHA-256 digest, so a leaked database does not leak usable tokens.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


def token_lifetime() -> timedelta:
    return timedelta(hours=settings.CITYOPS_API_TOKEN_HOURS)


def default_expiry():
    return timezone.now() + token_lifetime()


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="用户", on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField("名称", max_length=64, blank=True, help_text="用途说明，如“视频平台对接”")
    prefix = models.CharField("前缀", max_length=16, unique=True, help_text="令牌的公开部分，用于查找")
    key_hash = models.CharField("密钥摘要 (SHA-256)", max_length=64)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    expires_at = models.DateTimeField("过期时间", default=default_expiry, db_index=True)
    revoked = models.BooleanField("已吊销", default=False)

    class Meta:
        verbose_name = "接口令牌"
        verbose_name_plural = "接口令牌"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return not self.revoked and self.expires_at > now and self.user.is_active


# ---------------------------------------------------------------- system clients (API keys)


class ApiKey(models.Model):
    """A long-lived key of another system (12345 platform, video platform, …).

    The key is `cok_<prefix>_<secret>`; it is shown once when issued and only the SHA-256
    digest of the secret is stored. Every key acts as its service account (`user`): a User
    with role "system", or another role plus a department scope.
    """

    name = models.CharField("名称", max_length=64, unique=True, help_text="接入系统名称，如“市12345平台”")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="服务账号", on_delete=models.PROTECT, related_name="api_keys",
    )
    prefix = models.CharField("前缀", max_length=16, unique=True, help_text="密钥的公开部分，用于查找")
    key_hash = models.CharField("密钥摘要 (SHA-256)", max_length=64)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    created_by = models.CharField("创建人", max_length=150, blank=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)

    class Meta:
        verbose_name = "API 密钥"
        verbose_name_plural = "API 密钥"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class ApiCallLog(models.Model):
    """One call made with an API key (also calls refused because the key was revoked)."""

    api_key = models.ForeignKey(ApiKey, verbose_name="API 密钥", null=True, on_delete=models.SET_NULL, related_name="calls")
    key_name = models.CharField("密钥名称", max_length=64, db_index=True)
    method = models.CharField("方法", max_length=8)
    path = models.CharField("路径", max_length=300)
    status_code = models.PositiveSmallIntegerField("状态码")
    duration_ms = models.PositiveIntegerField("耗时 (毫秒)", default=0)
    ip = models.GenericIPAddressField("来源地址", null=True, blank=True)
    created_at = models.DateTimeField("时间", default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "接口调用日志"
        verbose_name_plural = "接口调用日志"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["api_key", "created_at"], name="apicall_key_time")]

    def __str__(self) -> str:
        return f"{self.key_name} {self.method} {self.path} {self.status_code}"


# ---------------------------------------------------------------- webhooks


class WebhookSubscription(models.Model):
    """A system's endpoint that receives signed case events (only cases its account may see)."""

    name = models.CharField("名称", max_length=64)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="服务账号", on_delete=models.PROTECT, related_name="webhook_subscriptions",
        help_text="只推送该账号有权查看的案件",
    )
    url = models.URLField("推送地址", max_length=500)
    events = models.JSONField("订阅事件", default=list, help_text='事件类型列表，如 ["case.created", "case.closed"]；["*"] 表示全部')
    secret = models.CharField("签名密钥", max_length=64)
    active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)

    class Meta:
        verbose_name = "Webhook 订阅"
        verbose_name_plural = "Webhook 订阅"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """A service account, never a person; a target on the allow-list (see api.outbound)."""
        from django.core.exceptions import ValidationError

        from cityops.api import outbound

        errors = {}
        if self.account_id:
            problem = outbound.subscriber_problem(self.account)
            if problem:
                errors["account"] = problem
        if self.url:
            try:
                outbound.check_url(self.url)
            except outbound.TargetRefused as exc:
                errors["url"] = exc.message
        if errors:
            raise ValidationError(errors)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "待推送"
    SUCCEEDED = "succeeded", "已送达"
    FAILED = "failed", "已放弃"


class WebhookDelivery(models.Model):
    """The outbox row of one event for one subscription, and the log of its delivery."""

    subscription = models.ForeignKey(WebhookSubscription, verbose_name="订阅", on_delete=models.CASCADE, related_name="deliveries")
    case_event = models.ForeignKey("cases.CaseEvent", verbose_name="案件日志", on_delete=models.CASCADE, related_name="webhook_deliveries")
    event_type = models.CharField("事件", max_length=32)
    payload = models.JSONField("内容")
    status = models.CharField("状态", max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField("已尝试次数", default=0)
    next_attempt_at = models.DateTimeField("下次推送", default=timezone.now)
    last_attempt_at = models.DateTimeField("最近推送", null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField("最近响应码", null=True, blank=True)
    last_response = models.TextField("最近响应", blank=True)
    last_error = models.CharField("最近错误", max_length=300, blank=True)
    delivered_at = models.DateTimeField("送达时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)

    class Meta:
        verbose_name = "Webhook 推送"
        verbose_name_plural = "Webhook 推送"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "case_event"], name="uniq_delivery_per_event"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]

    def __str__(self) -> str:
        return f"{self.subscription} {self.event_type} {self.get_status_display()}"


class WebhookCursor(models.Model):
    """How far the outbox relay has swept the case history (one row)."""

    swept_until = models.DateTimeField("已扫描至")

    class Meta:
        verbose_name = "Webhook 扫描位置"
        verbose_name_plural = "Webhook 扫描位置"

    def __str__(self) -> str:
        return f"{self.swept_until:%Y-%m-%d %H:%M:%S}"
