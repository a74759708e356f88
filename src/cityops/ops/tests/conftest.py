"""Fixtures of the ops tests: a tiny district, people in every role, a bearer-token client,
and (for the fault tests) the real PostgreSQL and Redis, skipped when unreachable."""

from __future__ import annotations

import os

import pytest

from cityops.api.tests import conftest as api_fixtures
from cityops.api.tests.client import ApiClient

# The API tests' tiny district, catalogue and people serve these tests too.
INSIDE = api_fixtures.INSIDE
district = api_fixtures.district
category = api_fixtures.category
department = api_fixtures.department
other_department = api_fixtures.other_department
people = api_fixtures.people


def pytest_configure(config):
    config.addinivalue_line("markers", "services: needs the real PostgreSQL and Redis (skipped when unreachable)")


@pytest.fixture
def operator_api(people):
    """The operator's bearer-token client; paths are relative to /api/v1."""
    return ApiClient(people["operator"])


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
