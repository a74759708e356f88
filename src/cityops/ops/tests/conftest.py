"""Fixtures of the ops tests: a tiny district, people in every role, a bearer-token client,
and (for the fault tests) the real PostgreSQL and Redis, skipped when unreachable."""

from __future__ import annotations

import json
import os

import pytest
from django.test import Client

from cityops.accounts.tests.factories import UserFactory
from cityops.api.tokens import token_issue
from cityops.cases.tests.factories import DepartmentFactory, LeafCategoryFactory
from cityops.geo import lookup

DISTRICT = "630102"
INSIDE = {"lon": 101.785, "lat": 36.625}


def pytest_configure(config):
    config.addinivalue_line("markers", "services: needs the real PostgreSQL and Redis (skipped when unreachable)")


def _square(lon0, lat0, lon1, lat1) -> dict:
    return {"type": "Polygon", "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]]}


@pytest.fixture
def district(db, settings):
    from cityops.geo.models import Region, RegionLevel, UnitGrid

    settings.CITYOPS_DISTRICT_CODE = DISTRICT
    square = _square(101.775, 36.615, 101.795, 36.635)
    root = Region.objects.create(code=DISTRICT, name="城东区", level=RegionLevel.DISTRICT, boundary=square)
    street = Region.objects.create(code=f"{DISTRICT}001", name="东关大街街道", level=RegionLevel.STREET, parent=root, boundary=square)
    community = Region.objects.create(code=f"{DISTRICT}001001", name="北关社区", level=RegionLevel.COMMUNITY, parent=street, boundary=square)
    grid = UnitGrid.objects.create(code=f"{DISTRICT}00100101", community=community, street=street, boundary=square)
    lookup.reset_index()
    yield {"district": root, "street": street, "community": community, "grid": grid}
    lookup.reset_index()


@pytest.fixture
def category(db):
    return LeafCategoryFactory(code="E9901", name="暴露垃圾")


@pytest.fixture
def department(db):
    return DepartmentFactory(code="chengguan", name="区城市管理局")


@pytest.fixture
def people(db, department):
    return {
        "operator": UserFactory(role="operator"),
        "dispatcher": UserFactory(role="dispatcher"),
        "leader": UserFactory(role="leader"),
        "dept": UserFactory(role="department", department=department),
    }


class TokenClient:
    def __init__(self, user):
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token_issue(user=user).token}"}

    def post(self, path: str, body: dict):
        return self.client.post(path, data=json.dumps(body), content_type="application/json", **self.headers)

    def get(self, path: str):
        return self.client.get(path, **self.headers)


@pytest.fixture
def operator_api(people):
    return TokenClient(people["operator"])


def report(category, **overrides) -> dict:
    body = {"type": "complaint", "description": "小区门口暴露垃圾成堆，无人清理", **INSIDE,
            "address": "东关大街 12 号", "category": category.code, "reporter_name": "张三", "reporter_phone": "13812341234"}
    body.update(overrides)
    return body


# ---------------------------------------------------------------- real services


def redis_url() -> str:
    return os.environ.get("CITYOPS_TEST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture
def real_services(transactional_db):
    """Skip unless the suite runs on PostgreSQL and Redis answers (CI has both)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("fault tests run against the real PostgreSQL (CI runs the suite on it)")
    import redis

    try:
        redis.Redis.from_url(redis_url(), socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"Redis is not reachable at {redis_url()}")
    return redis_url()
