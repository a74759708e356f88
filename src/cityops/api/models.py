"""Models of the api app: bearer tokens, API keys of other systems and their call log,
the intake mapping tables, intake records, and the webhook outbox.

A bearer token is `<prefix>.<secret>`: the prefix finds the row, the secret is kept only as its
SHA-256 digest, so a leaked database does not leak usable tokens.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


def token_lifetime() -> timedelta:
    return timedelta(hours=float(getattr(settings, "CITYOPS_API_TOKEN_HOURS", 8)))


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


# ---------------------------------------------------------------- intake mappings


class CityCategoryMapping(models.Model):
    """The city 12345 platform's category text → our 小类.

    Unmapped texts are added here automatically (without a category) the first time they
    arrive, so an administrator sees what still needs mapping."""

    city_text = models.CharField("市平台分类", max_length=200, unique=True, help_text="如“城乡建设/市容环卫/垃圾清运”")
    category = models.ForeignKey(
        "catalog.Category", verbose_name="本区小类", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="留空表示尚未映射：案件进入受理员待受理队列，由人工分类",
    )
    active = models.BooleanField("启用", default=True)
    seen_count = models.PositiveIntegerField("未映射时收到次数", default=0)
    last_seen_at = models.DateTimeField("最近收到", null=True, blank=True)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "市平台分类映射"
        verbose_name_plural = "市平台分类映射"
        ordering = ["city_text"]

    def __str__(self) -> str:
        return f"{self.city_text} → {self.category.code if self.category_id else '未映射'}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.category_id and self.category.children.exists():
            raise ValidationError({"category": "请选择小类（没有下级的分类）。"})


class AddressMapping(models.Model):
    """An address text (a landmark, a 小区, a road) that pins a case without coordinates.

    The longest pattern contained in the incoming address wins. Give either the point, or a
    region whose representative point is used."""

    pattern = models.CharField("地址关键字", max_length=100, unique=True, help_text="来件地址包含此文字即匹配，如“北关社区”“东关大街”")
    lon = models.FloatField("经度 (WGS-84)", null=True, blank=True)
    lat = models.FloatField("纬度 (WGS-84)", null=True, blank=True)
    region = models.ForeignKey(
        "geo.Region", verbose_name="区域", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="不填经纬度时，取该区域内的一个代表点",
    )
    active = models.BooleanField("启用", default=True)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "地址映射"
        verbose_name_plural = "地址映射"
        ordering = ["pattern"]

    def __str__(self) -> str:
        return self.pattern

    def save(self, *args, **kwargs):
        if self.lon is None and self.region_id and self.region.boundary:
            import shapely

            point = shapely.from_geojson(json.dumps(self.region.boundary)).representative_point()
            self.lon, self.lat = round(point.x, 7), round(point.y, 7)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if (self.lon is None) != (self.lat is None):
            raise ValidationError("经度和纬度须同时填写。")
        if self.lon is None and self.region_id is None:
            raise ValidationError("请填写经纬度或选择区域。")


class DeviceKind(models.TextChoices):
    CAMERA = "camera", "视频监控"
    SENSOR = "sensor", "物联传感器"
    OTHER = "other", "其他"


class Device(models.Model):
    """A camera or sensor that raises alarms. Devices seen for the first time are added
    automatically (unverified, without a location) for an administrator to complete."""

    code = models.CharField("设备编号", max_length=64, unique=True)
    name = models.CharField("名称", max_length=100, blank=True)
    kind = models.CharField("类型", max_length=16, choices=DeviceKind.choices, default=DeviceKind.CAMERA)
    lon = models.FloatField("经度", null=True, blank=True)
    lat = models.FloatField("纬度", null=True, blank=True)
    coord_system = models.CharField("坐标系", max_length=8, default="wgs84", choices=[("wgs84", "WGS-84"), ("gcj02", "GCJ-02")])
    address = models.CharField("安装地址", max_length=200, blank=True)
    active = models.BooleanField("启用", default=True, help_text="停用后该设备的报警一律拒收（如故障误报）")
    verified = models.BooleanField("已登记", default=True, help_text="未登记：首次报警时自动加入，待管理员补全")
    created_at = models.DateTimeField("创建时间", default=timezone.now)

    class Meta:
        verbose_name = "感知设备"
        verbose_name_plural = "感知设备"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip()


class AlarmTypeMapping(models.Model):
    """A device platform's event type (e.g. `garbage_overflow`) → our 小类."""

    event_type = models.CharField("报警类型", max_length=64, unique=True)
    label = models.CharField("说明", max_length=64, blank=True, help_text="如“垃圾满溢”，用于生成案件描述")
    category = models.ForeignKey(
        "catalog.Category", verbose_name="本区小类", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="留空表示尚未映射：案件进入受理员待受理队列",
    )
    urgent = models.BooleanField("紧急", default=False)
    active = models.BooleanField("启用", default=True)
    seen_count = models.PositiveIntegerField("未映射时收到次数", default=0)

    class Meta:
        verbose_name = "报警类型映射"
        verbose_name_plural = "报警类型映射"
        ordering = ["event_type"]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.category.code if self.category_id else '未映射'}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.category_id and self.category.children.exists():
            raise ValidationError({"category": "请选择小类（没有下级的分类）。"})


class IntakeRecord(models.Model):
    """What an outside system sent for one case: the payload and texts, the media link, the
    device of an alarm (and how often it repeated), the Open311 token.

    The payload is stored with its personal fields masked (`api.intake_masking`), whoever
    writes it: the reporter's name and phone live on the case, for the roles that may see
    them; nobody reads a person's data out of an intake record."""

    case = models.OneToOneField("cases.Case", verbose_name="案件", on_delete=models.CASCADE, related_name="intake_record")
    channel = models.CharField("渠道", max_length=16)
    api_key = models.ForeignKey(ApiKey, verbose_name="API 密钥", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField("来源系统", max_length=64, blank=True)
    payload = models.JSONField("原始数据", default=dict, blank=True)
    original_category = models.CharField("原始分类", max_length=200, blank=True)
    original_address = models.CharField("原始地址", max_length=200, blank=True)
    category_mapped = models.BooleanField("分类已映射", default=False)
    location_source = models.CharField("定位来源", max_length=16, blank=True, help_text="coordinates / address_mapping / device / none")
    media_url = models.URLField("图片链接", max_length=500, blank=True)
    device_code = models.CharField("设备编号", max_length=64, blank=True)
    event_type = models.CharField("报警类型", max_length=64, blank=True)
    repeat_count = models.PositiveIntegerField("重复报警次数", default=0)
    last_seen_at = models.DateTimeField("最近报警", null=True, blank=True)
    token = models.CharField("Open311 token", max_length=32, unique=True, null=True, blank=True)
    created_at = models.DateTimeField("接收时间", default=timezone.now)

    class Meta:
        verbose_name = "接入记录"
        verbose_name_plural = "接入记录"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["device_code", "event_type", "last_seen_at"], name="intake_alarm_dedupe")]

    def __str__(self) -> str:
        return f"{self.channel} {self.case_id}"

    def save(self, *args, **kwargs):
        from cityops.api.intake_masking import mask_body
        from cityops.common.pii import mask_text

        self.payload = mask_body(self.payload or {}, channel=self.channel)
        self.original_address = mask_text(self.original_address or "")
        super().save(*args, **kwargs)


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
