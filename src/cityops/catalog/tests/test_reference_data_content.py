"""What the shipped reference data contains, checked once against a catalog loaded per module."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal

import chinese_calendar
import pytest

from cityops.catalog.models import (
    Category,
    CategorySystem,
    Department,
    LimitUnit,
    ResponsibilityRule,
    Stage,
    TimeLimit,
    Urgency,
)
from cityops.catalog.services import load_reference_data
from cityops.catalog.workcal import is_workday
from cityops.testing.shared_data import needs_shared, shared_path

pytestmark = pytest.mark.django_db

SHARED_TAXONOMY = shared_path("complaints", "taxonomy.csv")


def limit(code: str, stage: str, urgency: str = Urgency.NORMAL) -> tuple[Decimal, str]:
    tl = TimeLimit.objects.get(category__code=code, stage=stage, urgency=urgency)
    return tl.value, tl.unit


def test_load_creates_the_district_catalog(loaded_catalog) -> None:
    assert Category.objects.count() == 445
    assert Category.objects.filter(system=CategorySystem.URBAN).count() == 11 + 127
    assert Category.objects.filter(system=CategorySystem.HOTLINE).count() == 7 + 50 + 250
    assert Category.objects.filter(children__isnull=True).count() == 377
    assert Department.objects.count() == 36
    assert ResponsibilityRule.objects.count() == 218
    assert loaded_catalog.report.categories.created == 445
    assert loaded_catalog.report.time_limits.created == 3770


def test_second_load_changes_nothing(loaded_catalog) -> None:
    again = load_reference_data()
    assert (again.categories.created, again.categories.updated) == (0, 0)
    assert (again.time_limits.created, again.time_limits.updated) == (0, 0)
    assert (again.departments.created, again.departments.updated) == (0, 0)
    assert (again.rules.created, again.rules.updated) == (0, 0)
    assert again.rules.unchanged == 218
    assert Category.objects.count() == 445
    assert TimeLimit.objects.count() == 3770
    assert ResponsibilityRule.objects.count() == 218


def test_every_leaf_has_every_stage_for_both_urgencies(loaded_catalog) -> None:
    expected = {(stage, urgency) for stage in Stage.values for urgency in Urgency.values}
    for leaf in Category.objects.filter(children__isnull=True):
        assert set(leaf.time_limits.values_list("stage", "urgency")) == expected, leaf.code


def test_limits_follow_the_domain_reference(loaded_catalog) -> None:
    assert limit("E0102", Stage.HANDLE) == (Decimal("1"), LimitUnit.WORK_DAY)  # 暴露垃圾
    assert limit("E0104", Stage.HANDLE) == (Decimal("5"), LimitUnit.WORK_HOUR)  # 道路不洁
    assert limit("E0101", Stage.HANDLE) == (Decimal("15"), LimitUnit.WORK_DAY)  # 违法搭建
    assert limit("E0105", Stage.HANDLE) == (Decimal("15"), LimitUnit.WORK_DAY)  # 水域不洁
    assert limit("E0103", Stage.HANDLE) == (Decimal("4"), LimitUnit.WORK_DAY)  # 积存垃圾渣土
    assert limit("P0101", Stage.HANDLE) == (Decimal("6"), LimitUnit.HOUR)  # 上水井盖
    assert limit("E0102", Stage.SIGN, Urgency.URGENT) == (Decimal("0.5"), LimitUnit.HOUR)
    assert limit("E0401", Stage.HANDLE, Urgency.URGENT) == (Decimal("2"), LimitUnit.HOUR)
    assert limit("H010201", Stage.HANDLE) == (Decimal("13"), LimitUnit.WORK_DAY)
    assert limit("H010201", Stage.SIGN) == (Decimal("1"), LimitUnit.WORK_DAY)


def test_urgent_limits_run_in_natural_time(loaded_catalog) -> None:
    urgent_units = set(TimeLimit.objects.filter(urgency=Urgency.URGENT).values_list("unit", flat=True))
    assert urgent_units == {LimitUnit.HOUR}


def test_emergencies_are_urgent_by_default(loaded_catalog) -> None:
    emergencies = Category.objects.filter(parent__code="E04")
    assert emergencies.count() == 10
    assert set(emergencies.values_list("default_urgency", flat=True)) == {Urgency.URGENT}


def test_urban_codes_follow_the_reference_order(loaded_catalog) -> None:
    names = dict(Category.objects.values_list("code", "name"))
    assert names["P01"] == "公用设施" and names["P0101"] == "上水井盖" and names["P0126"] == "健身设施"
    assert names["P0201"] == "停车场" and names["P0218"] == "隔音屏"
    assert names["E0101"] == "私搭乱建(违法搭建)" and names["E0102"] == "暴露垃圾"
    assert names["E0199"] == "其他市容环境问题" and names["E0399"] == "其他施工管理问题"
    assert names["E0401"] == "路面塌陷" and names["E0499"] == "其他突发事件"
    assert names["E0513"] == "空调室外机低挂" and names["E0598"] == "占压盲道"
    assert names["E0599"] == "其他街面秩序问题"
    assert Category.objects.get(code="E0102").register_condition == "成堆、成片的垃圾"


@needs_shared("complaints", "taxonomy.csv")
def test_hotline_names_are_exactly_the_shared_taxonomy(loaded_catalog) -> None:
    tops = ["城乡建设", "劳动和社会保障", "教育文体", "商贸旅游", "环境保护", "卫生计生", "交通运输"]
    with SHARED_TAXONOMY.open(encoding="utf-8") as fh:
        expected = {
            (row["一级分类"], row["二级分类"], row["三级分类"])
            for row in csv.DictReader(fh)
            if row["一级分类"] in tops
        }
    loaded = {
        (leaf.parent.parent.name, leaf.parent.name, leaf.name)
        for leaf in Category.objects.filter(system=CategorySystem.HOTLINE, level=3).select_related("parent__parent")
    }
    assert loaded == expected
    assert list(
        Category.objects.filter(system=CategorySystem.HOTLINE, level=1).order_by("code").values_list("name", flat=True)
    ) == tops


def test_street_offices_are_tied_to_their_regions(loaded_catalog) -> None:
    assert Department.objects.get(code="street-001").street == loaded_catalog.streets["630102001"]
    assert Department.objects.get(code="town-100").street == loaded_catalog.streets["630102100"]
    assert Department.objects.get(code="park-400").street == loaded_catalog.streets["630102400"]
    assert Department.objects.filter(street__isnull=False).count() == 10


def test_every_day_of_2024_to_2026_matches_chinese_calendar(loaded_catalog) -> None:
    # With the shipped calendar_overrides.json loaded, the engine must agree with the
    # State Council schedule as chinesecalendar encodes it, day by day.
    first, last = date(2024, 1, 1), date(2026, 12, 31)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    disagreements = [(d, is_workday(d), chinese_calendar.is_workday(d)) for d in days if is_workday(d) != chinese_calendar.is_workday(d)]
    assert len(days) == 1096
    assert disagreements == []
