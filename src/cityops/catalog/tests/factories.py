"""factory_boy factories for catalog models (and the geo Regions they point at)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import factory
from factory.django import DjangoModelFactory

from cityops.catalog.models import (
    CENTER_DEPARTMENT_CODE,
    CalendarOverride,
    Category,
    CategoryKind,
    CategorySystem,
    Department,
    DepartmentKind,
    LimitUnit,
    ResponsibilityRule,
    Stage,
    TimeLimit,
    Urgency,
)
from cityops.geo.models import Region, RegionLevel

# The district's ten township-level units (NBS statistical codes, 2023).
CHENGDONG_STREETS = [
    ("630102001", "东关大街街道", "街道"),
    ("630102002", "清真巷街道", "街道"),
    ("630102003", "大众街街道", "街道"),
    ("630102004", "周家泉街道", "街道"),
    ("630102005", "火车站街道", "街道"),
    ("630102006", "八一路街道", "街道"),
    ("630102007", "林家崖街道", "街道"),
    ("630102100", "乐家湾镇", "镇"),
    ("630102101", "韵家口镇", "镇"),
    ("630102400", "东川工业园", "园区"),
]


class DistrictFactory(DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = "630102"
    name = "城东区"
    level = RegionLevel.DISTRICT
    kind = "区"


class StreetRegionFactory(DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"630102{500 + n:03d}")
    name = factory.Sequence(lambda n: f"测试街道{n}")
    level = RegionLevel.STREET
    kind = "街道"
    parent = factory.SubFactory(DistrictFactory)


class CommunityRegionFactory(DjangoModelFactory):
    class Meta:
        model = Region

    parent = factory.SubFactory(StreetRegionFactory)
    code = factory.Sequence(lambda n: f"{n:03d}")  # completed below from the street's code
    name = factory.Sequence(lambda n: f"测试社区{n}")
    level = RegionLevel.COMMUNITY
    kind = "社区"

    @classmethod
    def _create(cls, model_class: type[Region], *args: Any, **kwargs: Any) -> Region:
        kwargs["code"] = f"{kwargs['parent'].code}{kwargs['code'][-3:]}"
        return super()._create(model_class, *args, **kwargs)


def create_chengdong_streets() -> dict[str, Region]:
    """The district and its ten streets/towns, keyed by 9-digit code (what geo's loader will provide)."""
    district = DistrictFactory()
    return {
        code: StreetRegionFactory(code=code, name=name, kind=kind, parent=district)
        for code, name, kind in CHENGDONG_STREETS
    }


class CategoryFactory(DjangoModelFactory):
    """A top-level (大类) category."""

    class Meta:
        model = Category
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"X{n:02d}")
    name = factory.Sequence(lambda n: f"测试大类{n}")
    system = CategorySystem.URBAN
    kind = CategoryKind.EVENT
    level = 1


class LeafCategoryFactory(CategoryFactory):
    """A 小类 under a fresh 大类 unless `parent` is given."""

    parent = factory.SubFactory(CategoryFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.parent.code}{n % 100:02d}")
    name = factory.Sequence(lambda n: f"测试小类{n}")
    level = 2


class TimeLimitFactory(DjangoModelFactory):
    class Meta:
        model = TimeLimit

    category = factory.SubFactory(LeafCategoryFactory)
    stage = Stage.HANDLE
    urgency = Urgency.NORMAL
    value = Decimal("1")
    unit = LimitUnit.WORK_DAY


class DepartmentFactory(DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"dept{n}")
    name = factory.Sequence(lambda n: f"测试局{n}")
    short_name = factory.LazyAttribute(lambda o: o.name[:16])
    kind = DepartmentKind.FUNCTIONAL


class CenterDepartmentFactory(DepartmentFactory):
    code = CENTER_DEPARTMENT_CODE
    name = "西宁市城东区城市运行管理指挥中心"
    short_name = "城运中心"
    kind = DepartmentKind.CENTER


class StreetOfficeFactory(DepartmentFactory):
    street = factory.SubFactory(StreetRegionFactory)
    code = factory.LazyAttribute(lambda o: f"street-{o.street.code[-3:]}")
    name = factory.LazyAttribute(lambda o: f"{o.street.name}办事处")
    kind = DepartmentKind.STREET


class ResponsibilityRuleFactory(DjangoModelFactory):
    class Meta:
        model = ResponsibilityRule
        skip_postgeneration_save = True

    category = factory.SubFactory(LeafCategoryFactory)
    lead = factory.SubFactory(DepartmentFactory)
    valid_from = date(2024, 1, 1)
    basis = "测试依据"

    @factory.post_generation
    def co_handlers(self, create: bool, extracted: list[Department] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.co_handlers.set(extracted)


class CalendarOverrideFactory(DjangoModelFactory):
    class Meta:
        model = CalendarOverride

    date = date(2026, 3, 9)
    is_workday = False
    note = "测试调整"
