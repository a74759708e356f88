from __future__ import annotations

from datetime import date, datetime

import pytest

from cityops.catalog.models import CategorySystem, Stage, Urgency
from cityops.catalog.selectors import (
    AssignmentSource,
    RoutingConfigurationError,
    leaf_categories,
    responsible_department,
    stage_deadline,
)
from cityops.catalog.tests.factories import (
    CategoryFactory,
    CenterDepartmentFactory,
    CommunityRegionFactory,
    DepartmentFactory,
    LeafCategoryFactory,
    ResponsibilityRuleFactory,
    StreetOfficeFactory,
    StreetRegionFactory,
    TimeLimitFactory,
)
from cityops.catalog.workcal import TZ

pytestmark = pytest.mark.django_db

ON = date(2026, 3, 10)


# ---------------------------------------------------------------------------- precedence


def test_rule_on_a_parent_category_covers_its_children() -> None:
    leaf = LeafCategoryFactory()
    rule = ResponsibilityRuleFactory(category=leaf.parent)
    assignment = responsible_department(leaf, None, ON)
    assert assignment.rule == rule
    assert assignment.lead == rule.lead


def test_most_specific_category_wins_over_its_parent() -> None:
    leaf = LeafCategoryFactory()
    ResponsibilityRuleFactory(category=leaf.parent)
    own = ResponsibilityRuleFactory(category=leaf)
    assert responsible_department(leaf, None, ON).rule == own


def test_street_specific_rule_beats_the_general_one_on_the_same_category() -> None:
    leaf = LeafCategoryFactory()
    street, elsewhere = StreetRegionFactory(), StreetRegionFactory()
    general = ResponsibilityRuleFactory(category=leaf)
    local = ResponsibilityRuleFactory(category=leaf, street=street)
    assert responsible_department(leaf, street, ON).rule == local
    assert responsible_department(leaf, elsewhere, ON).rule == general
    assert responsible_department(leaf, None, ON).rule == general


def test_general_rule_on_the_leaf_beats_a_street_rule_on_the_parent() -> None:
    # Category specificity comes first; put street exceptions on the leaf they concern.
    leaf = LeafCategoryFactory()
    street = StreetRegionFactory()
    ResponsibilityRuleFactory(category=leaf.parent, street=street)
    own = ResponsibilityRuleFactory(category=leaf)
    assert responsible_department(leaf, street, ON).rule == own


def test_only_rules_effective_on_the_date_apply() -> None:
    leaf = LeafCategoryFactory()
    old = ResponsibilityRuleFactory(category=leaf, valid_from=date(2024, 1, 1), valid_to=date(2025, 12, 31))
    new = ResponsibilityRuleFactory(category=leaf, valid_from=date(2026, 1, 1))
    future = ResponsibilityRuleFactory(category=leaf, valid_from=date(2027, 1, 1))
    assert responsible_department(leaf, None, date(2025, 12, 31)).rule == old  # valid_to is inclusive
    assert responsible_department(leaf, None, date(2026, 1, 1)).rule == new
    assert responsible_department(leaf, None, date(2027, 6, 1)).rule == future


def test_rule_with_an_inactive_lead_is_skipped() -> None:
    leaf = LeafCategoryFactory()
    fallback = ResponsibilityRuleFactory(category=leaf.parent)
    ResponsibilityRuleFactory(category=leaf, lead=DepartmentFactory(active=False))
    assert responsible_department(leaf, None, ON).rule == fallback


def test_co_handlers_come_with_the_rule_without_inactive_ones() -> None:
    helper, retired = DepartmentFactory(), DepartmentFactory(active=False)
    rule = ResponsibilityRuleFactory(co_handlers=[helper, retired])
    assert responsible_department(rule.category, None, ON).co_handlers == [helper]


def test_date_defaults_to_today_and_datetimes_are_accepted() -> None:
    rule = ResponsibilityRuleFactory(valid_from=date(2020, 1, 1))
    assert responsible_department(rule.category).rule == rule
    assert responsible_department(rule.category, None, datetime(2026, 3, 10, 9, tzinfo=TZ)).rule == rule


# ---------------------------------------------------------------------------- fallbacks


def test_category_without_a_rule_falls_back_to_the_street_office() -> None:
    office = StreetOfficeFactory()
    leaf = LeafCategoryFactory(name="无人认领的问题")
    assignment = responsible_department(leaf, office.street, ON)
    assert assignment.lead == office
    assert assignment.rule is None
    assert assignment.source == AssignmentSource.TERRITORY
    assert assignment.reason.startswith(f"属地兜底: {office.name}")
    assert leaf.code in assignment.reason


def test_community_is_taken_up_to_its_street_for_the_fallback() -> None:
    office = StreetOfficeFactory()
    community = CommunityRegionFactory(parent=office.street)
    assert responsible_department(LeafCategoryFactory(), community, ON).lead == office


def test_region_codes_are_accepted_for_category_and_street() -> None:
    office = StreetOfficeFactory()
    leaf = LeafCategoryFactory()
    assert responsible_department(leaf.code, office.street.code, ON).lead == office


def test_unlocated_case_without_a_rule_goes_to_the_center() -> None:
    center = CenterDepartmentFactory()
    assignment = responsible_department(LeafCategoryFactory(), None, ON)
    assert assignment.lead == center
    assert assignment.source == AssignmentSource.CENTER
    assert assignment.reason.startswith("中心兜底: ")
    assert "未定位到街道" in assignment.reason


def test_street_without_an_office_falls_back_to_the_center() -> None:
    center = CenterDepartmentFactory()
    street = StreetRegionFactory(name="无办事处街道")
    assignment = responsible_department(LeafCategoryFactory(), street, ON)
    assert assignment.lead == center
    assert "无办事处街道 没有启用的属地部门" in assignment.reason


def test_missing_center_is_a_configuration_error() -> None:
    with pytest.raises(RoutingConfigurationError, match="cityops catalog load"):
        responsible_department(LeafCategoryFactory(), None, ON)


# ---------------------------------------------------------------------------- categories and limits


def test_leaf_categories_lists_active_leaves_of_a_system() -> None:
    leaf = LeafCategoryFactory()
    LeafCategoryFactory(parent=leaf.parent, active=False)
    hotline = LeafCategoryFactory(parent=CategoryFactory(system=CategorySystem.HOTLINE, kind="demand"), system="hotline")
    assert list(leaf_categories(CategorySystem.URBAN)) == [leaf]
    assert set(leaf_categories()) == {leaf, hotline}


def test_stage_deadline_uses_the_category_limit_and_the_working_calendar() -> None:
    limit = TimeLimitFactory(stage=Stage.HANDLE, value=1, unit="work_day")
    friday = datetime(2026, 3, 6, 10, tzinfo=TZ)
    assert stage_deadline(limit.category, Stage.HANDLE, friday) == datetime(2026, 3, 9, 18, tzinfo=TZ)


def test_stage_deadline_falls_back_to_the_parent_limit() -> None:
    leaf = LeafCategoryFactory()
    TimeLimitFactory(category=leaf.parent, stage=Stage.SIGN, urgency=Urgency.URGENT, value="0.5", unit="hour")
    start = datetime(2026, 3, 7, 10, tzinfo=TZ)
    assert stage_deadline(leaf, Stage.SIGN, start, Urgency.URGENT) == datetime(2026, 3, 7, 10, 30, tzinfo=TZ)
