"""Fixtures of the API tests: one user per role, a tiny district on the map, and a JSON
client that carries a bearer token."""

from __future__ import annotations

import pytest

from cityops.accounts.tests.factories import UserFactory
from cityops.api.tests.client import ApiClient
from cityops.cases.tests.factories import DepartmentFactory, LeafCategoryFactory
from cityops.geo import lookup

DISTRICT = "630102"
# A 2 km square; the district, its one street, community and grid all share it.
INSIDE = {"lon": 101.785, "lat": 36.625}
OUTSIDE = {"lon": 116.397, "lat": 39.909}


def _square(lon0: float, lat0: float, lon1: float, lat1: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]]}


@pytest.fixture
def district(db, settings):
    """District 630102 → street 001 → community 001 → grid 01, all on the same small square."""
    from cityops.geo.models import Region, RegionLevel, UnitGrid

    settings.CITYOPS_DISTRICT_CODE = DISTRICT
    square = _square(101.775, 36.615, 101.795, 36.635)
    root = Region.objects.create(code=DISTRICT, name="城东区", level=RegionLevel.DISTRICT, boundary=square)
    street = Region.objects.create(code=f"{DISTRICT}001", name="东关大街街道", level=RegionLevel.STREET, parent=root, boundary=square)
    community = Region.objects.create(code=f"{DISTRICT}001001", name="北关社区", level=RegionLevel.COMMUNITY, parent=street, boundary=square)
    grid = UnitGrid.objects.create(code=f"{DISTRICT}00100101", community=community, street=street, boundary=square)
    lookup.reset_index()
    yield {"district": root, "street": street, "community": community, "grid": grid}
    # The test transaction rolls back without signals: never let this index leak into other tests.
    lookup.reset_index()


@pytest.fixture
def category(db):
    return LeafCategoryFactory(code="E9901", name="暴露垃圾")


@pytest.fixture
def department(db):
    return DepartmentFactory(code="chengguan", name="区城市管理局")


@pytest.fixture
def other_department(db):
    return DepartmentFactory(code="zhujian", name="区住建局")


@pytest.fixture
def people(db, department, other_department):
    return {
        "operator": UserFactory(role="operator"),
        "dispatcher": UserFactory(role="dispatcher"),
        "leader": UserFactory(role="leader"),
        "inspector": UserFactory(role="inspector"),
        "system": UserFactory(role="system"),
        "dept": UserFactory(role="department", department=department),
        "other_dept": UserFactory(role="department", department=other_department),
    }


@pytest.fixture
def as_role(people):
    """`as_role("operator")` → an ApiClient with that user's token."""
    cache: dict[str, ApiClient] = {}

    def make(role: str) -> ApiClient:
        if role not in cache:
            cache[role] = ApiClient(people[role])
        return cache[role]

    return make


@pytest.fixture
def report(category):
    """A valid case body, with overrides."""

    def make(**overrides):
        body = {
            "type": "complaint", "description": "小区门口暴露垃圾成堆，无人清理", **INSIDE,
            "address": "东关大街 12 号", "category": category.code,
            "reporter_name": "张三", "reporter_phone": "13812341234",
        }
        body.update(overrides)
        return {k: v for k, v in body.items() if v is not None}

    return make
