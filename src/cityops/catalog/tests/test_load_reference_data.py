from __future__ import annotations

import json
import shutil
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cityops.catalog.models import (
    CalendarOverride,
    Category,
    Department,
    LimitUnit,
    ResponsibilityRule,
    Stage,
    TimeLimit,
    Urgency,
)
from cityops.catalog.services import DATA_DIR, ReferenceDataError, load_reference_data, parse_limit
from cityops.testing.shared_data import needs_shared, shared_path

pytestmark = pytest.mark.django_db

SHARED_TAXONOMY = shared_path("complaints", "taxonomy.csv")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A writable copy of the shipped data files, for tests that break them."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def edit(data_dir: Path, name: str, change) -> None:
    path = data_dir / name
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def limit(code: str, stage: str, urgency: str = Urgency.NORMAL) -> tuple[Decimal, str]:
    tl = TimeLimit.objects.get(category__code=code, stage=stage, urgency=urgency)
    return tl.value, tl.unit


# ---------------------------------------------------------------------------- happy path


def test_load_updates_rows_whose_file_entry_changed(streets, data_dir: Path) -> None:
    load_reference_data(data_dir)

    def change(doc: dict[str, Any]) -> None:
        leaf = doc["categories"][6]["children"][1]  # E0102 暴露垃圾
        leaf["time_limits"]["handle"]["normal"] = "2 工作日"
        leaf["keywords"] = "暴露垃圾 垃圾山"

    edit(data_dir, "urban_categories.json", change)
    report = load_reference_data(data_dir)
    assert report.categories.updated == 1
    assert report.time_limits.updated == 1
    assert limit("E0102", Stage.HANDLE) == (Decimal("2"), LimitUnit.WORK_DAY)
    assert Category.objects.get(code="E0102").keywords == "暴露垃圾 垃圾山"


@needs_shared("complaints", "taxonomy.csv")
def test_parse_limit_reads_chinese_and_code_units() -> None:
    assert parse_limit("1.5 工作日") == (Decimal("1.5"), LimitUnit.WORK_DAY)
    assert parse_limit("6小时") == (Decimal("6.0"), LimitUnit.HOUR)
    assert parse_limit("2 work_hour") == (Decimal("2.0"), LimitUnit.WORK_HOUR)
    for bad in ["0 小时", "1.25 小时", "3 周", "三 小时", ""]:
        with pytest.raises(ValueError):
            parse_limit(bad)


# ---------------------------------------------------------------------------- failures


def assert_fails_cleanly(data_dir: Path, *fragments: str) -> ReferenceDataError:
    with pytest.raises(ReferenceDataError) as info:
        load_reference_data(data_dir)
    for fragment in fragments:
        assert fragment in str(info.value)
    # All or nothing: the categories loaded before the bad entry were rolled back.
    assert Category.objects.count() == 0
    assert Department.objects.count() == 0
    assert ResponsibilityRule.objects.count() == 0
    return info.value


def test_unknown_category_code_in_the_matrix_fails_loudly(streets, data_dir: Path) -> None:
    edit(data_dir, "responsibility_matrix.json", lambda doc: doc["rules"].append({"category": "E0120", "lead": "chengguan"}))
    assert_fails_cleanly(data_dir, "responsibility_matrix.json", "rules[219]", "E0120")


def test_unknown_lead_department_fails_loudly(streets, data_dir: Path) -> None:
    edit(data_dir, "responsibility_matrix.json", lambda doc: doc["rules"][0].update(lead="nosuchdept"))
    assert_fails_cleanly(data_dir, "responsibility_matrix.json", "rules[1]", "nosuchdept")


def test_unknown_co_handler_fails_loudly(streets, data_dir: Path) -> None:
    edit(data_dir, "responsibility_matrix.json", lambda doc: doc["rules"][0].update(co_handlers=["ghost"]))
    assert_fails_cleanly(data_dir, "responsibility_matrix.json", "ghost")


def test_unknown_street_code_in_the_matrix_fails_loudly(streets, data_dir: Path) -> None:
    edit(data_dir, "responsibility_matrix.json", lambda doc: doc["rules"][0].update(street="630102999"))
    assert_fails_cleanly(data_dir, "responsibility_matrix.json", "630102999", "cityops geo load")


def test_category_name_that_contradicts_the_code_fails_loudly(streets, data_dir: Path) -> None:
    edit(data_dir, "responsibility_matrix.json", lambda doc: doc["rules"][1].update(category_name="暴露垃圾"))
    assert_fails_cleanly(data_dir, "P0101", "上水井盖", "暴露垃圾")


def test_missing_geo_regions_fail_with_a_hint_to_load_them_first(db) -> None:
    error = assert_fails_cleanly(DATA_DIR, "departments.json", "street-001", "630102001", "cityops geo load")
    assert error.file == "departments.json"


def test_bad_time_limit_unit_names_the_category(streets, data_dir: Path) -> None:
    edit(
        data_dir, "urban_categories.json",
        lambda doc: doc["categories"][0]["children"][0]["time_limits"]["handle"].update(normal="6 分钟"),
    )
    assert_fails_cleanly(data_dir, "urban_categories.json", "P0101", "6 分钟")


def test_leaf_without_a_stage_limit_fails_loudly(streets, data_dir: Path) -> None:
    edit(data_dir, "hotline_categories.json", lambda doc: doc["default_time_limits"].pop("verify"))
    assert_fails_cleanly(data_dir, "hotline_categories.json", "H010101", "verify/normal")


def test_misspelt_field_is_refused_rather_than_ignored(streets, data_dir: Path) -> None:
    edit(data_dir, "urban_categories.json", lambda doc: doc["categories"][0]["children"][0].update(keyword="井"))
    assert_fails_cleanly(data_dir, "urban_categories.json", "P0101", "keyword")


def test_duplicate_category_code_fails_loudly(streets, data_dir: Path) -> None:
    def duplicate(doc: dict[str, Any]) -> None:
        children = doc["categories"][0]["children"]
        children.append(dict(children[0]))

    edit(data_dir, "urban_categories.json", duplicate)
    assert_fails_cleanly(data_dir, "urban_categories.json", "P0101", "重复")


def test_child_code_must_extend_its_parent_code(streets, data_dir: Path) -> None:
    edit(data_dir, "urban_categories.json", lambda doc: doc["categories"][0]["children"][0].update(code="E0999"))
    assert_fails_cleanly(data_dir, "urban_categories.json", "E0999", "P01")


def test_calendar_overrides_file_is_loaded(streets, data_dir: Path) -> None:
    edit(
        data_dir, "calendar_overrides.json",
        lambda doc: doc["overrides"].append({"date": "2027-02-20", "is_workday": True, "note": "补班"}),
    )
    report = load_reference_data(data_dir)
    assert report.calendar_overrides.created == 1
    assert CalendarOverride.objects.get(date="2027-02-20").is_workday is True
    assert load_reference_data(data_dir).calendar_overrides.unchanged == 1


# ---------------------------------------------------------------------------- command


def test_catalog_load_command_reports_counts(streets) -> None:
    out = StringIO()
    call_command("catalog_load", stdout=out)
    assert "分类：新增 445" in out.getvalue()
    assert "基础数据加载完成" in out.getvalue()


def test_catalog_load_command_turns_data_errors_into_command_errors(db) -> None:
    with pytest.raises(CommandError, match="cityops geo load"):
        call_command("catalog_load", stdout=StringIO())
