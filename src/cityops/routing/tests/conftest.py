"""Fixtures of the routing tests: a tiny 12345 category tree with its departments and 权责清单,
and a classifier trained once per session on synthetic texts (fast, no real data)."""

from __future__ import annotations

from datetime import date

import pytest

from cityops.cases.tests.factories import DepartmentFactory, LeafCategoryFactory
from cityops.catalog.models import (
    CENTER_DEPARTMENT_CODE,
    Category,
    CategoryKind,
    CategorySystem,
    DepartmentKind,
    ResponsibilityRule,
)
from cityops.routing import registry
from cityops.routing.tests.support import DEMO_LEAVES, DEPARTMENTS, NAMES, synthetic_dataset
from cityops.routing.training import train


@pytest.fixture(scope="session")
def trained():
    """A TrainResult on 150 synthetic texts of 3 classes (trained once per test session)."""
    return train(synthetic_dataset(), n_folds=3, target_precision=0.98, group_duplicates=False)


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    registry.clear_cache()
    yield
    registry.clear_cache()


@pytest.fixture
def hotline(db):
    """H01–H03 (一级) → H0101… (二级) → H010101… (leaf) with departments, CENTER and 权责清单 lines."""
    DepartmentFactory(code=CENTER_DEPARTMENT_CODE, name="城运中心", kind=DepartmentKind.CENTER)
    leaves = {}
    departments = {}
    for code, name in NAMES.items():
        root = Category.objects.create(code=code, name=name, system=CategorySystem.HOTLINE, kind=CategoryKind.DEMAND, level=1)
        middle = Category.objects.create(code=f"{code}01", name=f"{name}二级", system=CategorySystem.HOTLINE,
                                         kind=CategoryKind.DEMAND, level=2, parent=root)
        leaves[code] = LeafCategoryFactory(code=f"{code}0101", name=f"{name}小类", system=CategorySystem.HOTLINE,
                                           kind=CategoryKind.DEMAND, level=3, parent=middle)
        dept_code, dept_name = DEPARTMENTS[code]
        departments[code] = DepartmentFactory(code=dept_code, name=dept_name)
        ResponsibilityRule.objects.create(category=root, lead=departments[code], valid_from=date(2020, 1, 1), basis="测试")
    return {"leaves": leaves, "departments": departments}


@pytest.fixture
def active_model(db, trained):
    return registry.model_save(trained, source="synthetic", activate=True)


# ---------------------------------------------------------------- the demo history's district


def _box(w: float, s: float, e: float, n: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


@pytest.fixture
def demo_district(db, settings):
    """What the demo history needs: two streets with a community and a grid each, six leaf
    categories of `demo_history.CATEGORIES` with departments and 权责清单 lines, the demo accounts."""
    from cityops.accounts.tests.factories import UserFactory
    from cityops.geo import lookup
    from cityops.geo.models import Region, RegionLevel, UnitGrid

    settings.CITYOPS_DISTRICT_CODE = "630102"
    root = Region.objects.create(code="630102", name="城东区", level=RegionLevel.DISTRICT, boundary=_box(101.775, 36.615, 101.815, 36.635))
    for i, (w, e) in enumerate(((101.775, 101.795), (101.795, 101.815)), start=1):
        square = _box(w, 36.615, e, 36.635)
        street = Region.objects.create(code=f"63010200{i}", name=f"第{i}街道", level=RegionLevel.STREET, parent=root, boundary=square)
        community = Region.objects.create(code=f"63010200{i}001", name=f"第{i}社区居民委员会", level=RegionLevel.COMMUNITY,
                                          parent=street, boundary=square)
        UnitGrid.objects.create(code=f"63010200{i}00101", community=community, street=street, boundary=square, area_m2=4e6)
    lookup.reset_index()
    DepartmentFactory(code=CENTER_DEPARTMENT_CODE, name="城运中心", kind=DepartmentKind.CENTER)
    departments = {code: DepartmentFactory(code=code, name=name) for code, name in
                   (("chengguan", "区城市管理局"), ("zhujian", "区住建局"), ("renshe", "区人社局"))}
    for role in ("operator", "dispatcher", "inspector"):
        UserFactory(role=role, username=role)
    for department in departments.values():
        UserFactory(role="department", department=department, username=f"dept-{department.code}")
    leaves = {}
    for code, (parent_code, dept) in DEMO_LEAVES.items():
        system = CategorySystem.HOTLINE if code.startswith("H") else CategorySystem.URBAN
        kind = CategoryKind.DEMAND if system == CategorySystem.HOTLINE else CategoryKind.EVENT
        parent, _ = Category.objects.get_or_create(code=parent_code, defaults={"name": f"{parent_code} 大类", "system": system, "kind": kind})
        leaves[code] = LeafCategoryFactory(code=code, name=f"{code} 小类", system=system, kind=kind, parent=parent)
        ResponsibilityRule.objects.get_or_create(category=parent, lead=departments[dept], defaults={"valid_from": date(2020, 1, 1), "basis": "测试"})
    return {"leaves": leaves, "departments": departments}
