"""Fixtures of the ops tests: the operator's bearer-token client and (for the fault tests) the
real PostgreSQL and Redis, skipped when unreachable. The one-square district, the category and
people in every role are the shared fixtures of `cityops.testing.fixtures`."""

from __future__ import annotations

import os

import pytest

from cityops.api.tests.client import ApiClient


def pytest_configure(config):
    config.addinivalue_line("markers", "services: needs the real PostgreSQL and Redis (skipped when unreachable)")


@pytest.fixture
def operator_api(people):
    """The operator's bearer-token client; paths are relative to /api/v1."""
    return ApiClient(people["operator"])


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
