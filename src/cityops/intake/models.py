"""Models of the intake domain: what outside systems send and how it is translated into ours.

The mapping tables (the city 12345 platform's category texts, address keywords, alarm event
types), the devices that raise alarms, and the intake record kept next to each case an outside
system created. The tables keep the names they had in the api app (`api_…`), where these models
lived until issue 15.
"""

from __future__ import annotations

import json

from django.db import models
from django.utils import timezone

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
        db_table = "api_citycategorymapping"  # the table kept its name when the model moved from api
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
        db_table = "api_addressmapping"  # the table kept its name when the model moved from api
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
        db_table = "api_device"  # the table kept its name when the model moved from api
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
        db_table = "api_alarmtypemapping"  # the table kept its name when the model moved from api
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

    The payload is stored with its personal fields masked (`intake.masking`), whoever
    writes it: the reporter's name and phone live on the case, for the roles that may see
    them; nobody reads a person's data out of an intake record."""

    case = models.OneToOneField("cases.Case", verbose_name="案件", on_delete=models.CASCADE, related_name="intake_record")
    channel = models.CharField("渠道", max_length=16)
    api_key = models.ForeignKey("api.ApiKey", verbose_name="API 密钥", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
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
        db_table = "api_intakerecord"  # the table kept its name when the model moved from api
        verbose_name = "接入记录"
        verbose_name_plural = "接入记录"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["device_code", "event_type", "last_seen_at"], name="intake_alarm_dedupe")]

    def __str__(self) -> str:
        return f"{self.channel} {self.case_id}"

    def save(self, *args, **kwargs):
        from cityops.common.pii import mask_text
        from cityops.intake.masking import mask_body

        self.payload = mask_body(self.payload or {}, channel=self.channel)
        self.original_address = mask_text(self.original_address or "")
        super().save(*args, **kwargs)
