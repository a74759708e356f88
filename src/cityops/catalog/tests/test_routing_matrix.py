"""Routing with the shipped 权责清单 (loaded once per module)."""

from __future__ import annotations

from datetime import date

import pytest

from cityops.catalog.models import Category, CategorySystem
from cityops.catalog.selectors import AssignmentSource, leaf_categories, responsible_department

pytestmark = pytest.mark.django_db

ON = date(2026, 3, 10)


def test_exposed_garbage_in_a_street_goes_to_the_city_management_bureau(loaded_catalog) -> None:
    assignment = responsible_department("E0102", loaded_catalog.streets["630102001"], ON)
    assert assignment.lead.code == "chengguan"
    assert assignment.source == AssignmentSource.RULE
    assert assignment.reason == "权责清单: E0102 暴露垃圾 → 区城管局"


def test_exposed_garbage_in_a_town_goes_to_the_town_government(loaded_catalog) -> None:
    assignment = responsible_department("E0102", loaded_catalog.streets["630102100"], ON)
    assert assignment.lead.code == "town-100"
    assert assignment.rule is not None and assignment.rule.street == loaded_catalog.streets["630102100"]
    assert assignment.reason == "权责清单: E0102 暴露垃圾 @乐家湾镇 → 乐家湾镇"


@pytest.mark.parametrize(
    ("code", "lead"),
    [
        ("P0101", "gongshui"),  # 上水井盖
        ("P0105", "dianli"),  # 电力井盖
        ("P0110", "gongre"),  # 热力井盖
        ("P0111", "ranqi"),  # 燃气井盖
        ("E0301", "chengguan"),  # 施工扰民
        ("E0302", "zhujian"),  # 工地扬尘
        ("E0505", "jiaojing"),  # 机动车乱停放
    ],
)
def test_shipped_matrix_routes_by_owner_and_duty(loaded_catalog, code: str, lead: str) -> None:
    assert responsible_department(code, loaded_catalog.streets["630102003"], ON).lead.code == lead


def test_hotline_leaf_is_routed_by_its_second_level_class(loaded_catalog) -> None:
    noise = Category.objects.get(system=CategorySystem.HOTLINE, parent__name="环境污染", name="噪音污染")
    assignment = responsible_department(noise, loaded_catalog.streets["630102002"], ON)
    assert assignment.lead.code == "shengtai"
    assert assignment.rule is not None and assignment.rule.category.code == "H0502"
    assert "上级分类条目" in assignment.reason and noise.code in assignment.reason


def test_hotline_utilities_go_to_the_utility_company(loaded_catalog) -> None:
    heating = Category.objects.get(system=CategorySystem.HOTLINE, name="冬季采暖")
    assignment = responsible_department(heating, loaded_catalog.streets["630102002"], ON)
    assert assignment.lead.code == "gongre"
    assert [d.code for d in assignment.co_handlers] == ["zhujian"]


def test_every_shipped_leaf_is_covered_by_the_matrix(loaded_catalog) -> None:
    uncovered = [
        leaf.code
        for leaf in leaf_categories()
        if responsible_department(leaf, loaded_catalog.streets["630102001"], ON).source != AssignmentSource.RULE
    ]
    assert uncovered == []


def test_every_second_level_hotline_class_has_its_own_rule(loaded_catalog) -> None:
    second_level = Category.objects.filter(system=CategorySystem.HOTLINE, level=2)
    assert second_level.count() == 50
    assert all(c.responsibility_rules.exists() for c in second_level)


