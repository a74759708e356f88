"""The region tree of the district (district → street/town → community/village) and unit grids.

Geometries are stored as GeoJSON geometry dicts in WGS-84 (EPSG:4326); we need no GIS
database because point lookups run in memory on a shapely STRtree (see `lookup.py`).
"""

from django.db import models

from cityops.common.models import TimeStampedModel


class RegionLevel(models.TextChoices):
    DISTRICT = "district", "区县"
    STREET = "street", "街道/镇"
    COMMUNITY = "community", "社区/村"


class Region(TimeStampedModel):
    """An administrative area: the district, one of its streets/towns, or a community/village."""

    code = models.CharField("区划代码", max_length=12, unique=True)
    name = models.CharField("名称", max_length=64)
    short_name = models.CharField("简称", max_length=64, blank=True, help_text="地图和列表中显示的简称，如“北关社区”")
    level = models.CharField("层级", max_length=16, choices=RegionLevel.choices, db_index=True)
    kind = models.CharField("类型", max_length=16, blank=True, help_text="街道、镇、社区、村、园区…")
    parent = models.ForeignKey("self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    boundary = models.JSONField("边界 (GeoJSON, WGS-84)", null=True, blank=True)
    area_m2 = models.FloatField("面积 (平方米)", null=True, blank=True)
    synthetic = models.BooleanField("合成数据", default=False, help_text="演示用的合成边界，非测绘成果")

    class Meta:
        verbose_name = "行政区域"
        verbose_name_plural = "行政区域"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def display_name(self) -> str:
        return self.short_name or self.name


class UnitGrid(TimeStampedModel):
    """A unit grid (单元网格): 14-digit code = 6 district + 3 street + 3 community + 2 sequence."""

    code = models.CharField("网格编码", max_length=14, unique=True)
    name = models.CharField("网格名称", max_length=64, blank=True)
    community = models.ForeignKey(Region, verbose_name="社区/村", on_delete=models.PROTECT, related_name="grids")
    street = models.ForeignKey(Region, verbose_name="街道/镇", on_delete=models.PROTECT, related_name="street_grids")
    boundary = models.JSONField("边界 (GeoJSON, WGS-84)")
    area_m2 = models.FloatField("面积 (平方米)", null=True, blank=True)
    synthetic = models.BooleanField("合成数据", default=False, help_text="演示用的合成网格，非测绘成果")

    class Meta:
        verbose_name = "单元网格"
        verbose_name_plural = "单元网格"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code
